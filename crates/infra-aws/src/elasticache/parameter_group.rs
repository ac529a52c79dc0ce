use std::collections::BTreeMap;

use infra_core::ValidationContext;
use infra_derive::Resource;
use serde::Serialize;

use super::subnet_group::DEFAULT_DESCRIPTION;
use crate::ids::{Arn, CacheParameterGroupName};

/// The parameter group families ElastiCache knows (`CacheParameterGroupFamily`).
pub const FAMILIES: &[&str] = &[
    "memcached1.4",
    "memcached1.5",
    "memcached1.6",
    "redis2.6",
    "redis2.8",
    "redis3.2",
    "redis4.0",
    "redis5.0",
    "redis6.x",
    "redis7",
    "valkey7",
    "valkey8",
];

/// An ElastiCache parameter group (`aws_elasticache_parameter_group`):
/// engine settings (`maxmemory-policy`, …) a [`super::ReplicationGroup`]
/// runs with.
///
/// Its ID is its name, unique per region (lowercase). The name, the family
/// and the description replace it, destroy first; the parameters change in
/// place: new and changed ones through `ModifyCacheParameterGroup`, removed
/// ones back to the family's default through `ResetCacheParameterGroup`
/// (20 a call). A refresh reads the parameters set by the user (source
/// `user`), so a parameter changed outside the stack shows in the plan.
///
/// The family is AWS's name for an engine line: `redis7` for Redis 7.x,
/// `redis6.x`, `valkey7`, `valkey8` (Terraform configurations sometimes
/// write `redis7.x`, which AWS refuses; validation says so).
///
/// Outputs: `group.name()` (`CacheParameterGroupName`, for a replication
/// group's `parameter_group_name`) and `group.arn()`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::elasticache::CacheParameterGroup;
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let params = stack.add("redis-params", CacheParameterGroup {
///     name: "prod-redis-params".into(),
///     family: "redis7".into(),
///     parameters: [("maxmemory-policy".to_owned(), "allkeys-lru".to_owned())].into(),
///     ..Default::default()
/// });
/// let _name: Output<infra::aws::ids::CacheParameterGroupName> = params.name();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:elasticache:ParameterGroup",
    outputs(name: CacheParameterGroupName, arn: Arn),
    readiness = "on_id",
    replace = "delete_before_create",
    validate = validate_parameter_group,
    validate_type = crate::rules::unique,
    normalise = defaults_unset
)]
pub struct CacheParameterGroup {
    /// 1 to 255 lowercase letters, digits and hyphens, a letter first.
    #[resource(force_new)]
    pub name: String,
    /// One of [`FAMILIES`]: `redis7`, `valkey8`, …
    #[resource(force_new)]
    pub family: String,
    /// At most 255 characters; `Managed by infra` when unset.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Parameter name to value (`maxmemory-policy` → `allkeys-lru`); the
    /// others keep the family's defaults.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_parameter_group(g: &CacheParameterGroup, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &g.tags);
    super::check_name(ctx, "name", &g.name, 255);
    if !FAMILIES.contains(&g.family.as_str()) {
        let near = FAMILIES.iter().find(|f| g.family.starts_with(**f) || f.starts_with(g.family.as_str()));
        let hint = near
            .map_or_else(|| format!(" (one of {})", FAMILIES.join(", ")), |f| format!(": did you mean {f}?"));
        ctx.error("family", format!("{:?} is not an ElastiCache parameter group family{hint}", g.family));
    }
    if let Some(d) = &g.description
        && (d.is_empty() || d.chars().count() > 255)
    {
        ctx.error("description", "a description is 1 to 255 characters (leave it unset for the default)");
    }
    for (k, v) in &g.parameters {
        if k.is_empty() || k.contains(char::is_whitespace) {
            ctx.error("parameters", format!("{k:?} is not a parameter name"));
        }
        if v.is_empty() {
            ctx.error(
                &format!("parameters.{k}"),
                "a parameter needs a value (remove it to reset it to the default)",
            );
        }
    }
}

fn defaults_unset(g: &mut CacheParameterGroup) {
    if g.description.as_deref() == Some(DEFAULT_DESCRIPTION) {
        g.description = None;
    }
}

/// What turns `before`'s parameters into `after`'s: the pairs to set and
/// the names to reset to the family's default.
pub(crate) fn parameter_changes<'a>(
    before: &'a BTreeMap<String, String>,
    after: &'a BTreeMap<String, String>,
) -> (Vec<(&'a String, &'a String)>, Vec<&'a String>) {
    let set = after.iter().filter(|(k, v)| before.get(*k) != Some(v)).collect();
    let reset = before.keys().filter(|k| !after.contains_key(*k)).collect();
    (set, reset)
}

#[cfg(feature = "elasticache")]
pub(crate) mod imp {
    use std::collections::BTreeMap;

    use async_trait::async_trait;
    use aws_sdk_elasticache::types::{CacheParameterGroup as Group, ParameterNameValue};
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{CacheParameterGroup, CacheParameterGroupOut, DEFAULT_DESCRIPTION, parameter_changes};
    use crate::elasticache::sdk::{PAGE, ec_tags, named, or_none, retag, tags_of};
    use crate::ids::{Arn, CacheParameterGroupName};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing, settle, user_tags};

    /// `aws:elasticache:ParameterGroup` through the ElastiCache API.
    #[derive(Debug)]
    pub(crate) struct CacheParameterGroupKind;

    /// Parameters ElastiCache takes in one modify or reset call.
    const PER_CALL: usize = 20;

    /// The parameter group `name`, or every one (`None`); a missing name
    /// is an empty answer.
    async fn describe(cx: &Ctx, name: Option<String>) -> Result<Vec<Group>, ProviderError> {
        let listed = cx
            .paged(|marker| {
                let call = cx
                    .elasticache()
                    .describe_cache_parameter_groups()
                    .set_cache_parameter_group_name(name.clone())
                    .max_records(PAGE)
                    .set_marker(marker);
                async move {
                    let out = cx
                        .send_in(
                            Service::ElastiCache,
                            "DescribeCacheParameterGroups",
                            Operation::Read,
                            || call.clone().send(),
                        )
                        .await?;
                    Ok((out.cache_parameter_groups.unwrap_or_default(), out.marker))
                }
            })
            .await;
        or_none(listed)
    }

    /// The parameters the user set in group `name` (source `user`).
    async fn user_parameters(cx: &Ctx, name: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        let params = cx
            .paged(|marker| {
                let call = cx
                    .elasticache()
                    .describe_cache_parameters()
                    .cache_parameter_group_name(name)
                    .source("user")
                    .max_records(PAGE)
                    .set_marker(marker);
                async move {
                    let out = cx
                        .send_in(Service::ElastiCache, "DescribeCacheParameters", Operation::Read, || {
                            call.clone().send()
                        })
                        .await?;
                    Ok((out.parameters.unwrap_or_default(), out.marker))
                }
            })
            .await?;
        Ok(params
            .iter()
            .filter_map(|p| Some((p.parameter_name()?.to_owned(), p.parameter_value()?.to_owned())))
            .collect())
    }

    async fn seen(cx: &Ctx, g: &Group) -> Result<Option<Seen<CacheParameterGroupKind>>, ProviderError> {
        let name = g.cache_parameter_group_name().ok_or_else(|| missing("parameter group name"))?.to_owned();
        let arn = g.arn().ok_or_else(|| missing("parameter group ARN"))?.to_owned();
        let read = futures_util::future::try_join(user_parameters(cx, &name), tags_of(cx, &arn)).await;
        let (parameters, tags) = match read {
            Ok(r) => r,
            // Deleted between the calls.
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let decl = CacheParameterGroup {
            name: name.clone(),
            family: g.cache_parameter_group_family().unwrap_or_default().to_owned(),
            description: g.description().map(str::to_owned),
            parameters,
            tags: user_tags(&tags),
        };
        let out = CacheParameterGroupOut {
            name: CacheParameterGroupName::unchecked(&name),
            arn: Arn::unchecked(arn),
        };
        Ok(Some(Seen::ready(name, decl, out, tags)))
    }

    /// Sets the `set` pairs, then resets the `reset` names, 20 a call.
    async fn apply_parameters(
        cx: &Ctx,
        name: &str,
        set: &[(&String, &String)],
        reset: &[&String],
        op: Operation,
    ) -> Result<(), ProviderError> {
        for chunk in reset.chunks(PER_CALL) {
            let names =
                chunk.iter().map(|k| ParameterNameValue::builder().parameter_name(*k).build()).collect();
            let call = cx
                .elasticache()
                .reset_cache_parameter_group()
                .cache_parameter_group_name(name)
                .reset_all_parameters(false)
                .set_parameter_name_values(Some(names));
            settle(|| {
                cx.send_in(Service::ElastiCache, "ResetCacheParameterGroup", op, || call.clone().send())
            })
            .await?;
        }
        for chunk in set.chunks(PER_CALL) {
            let pairs = chunk
                .iter()
                .map(|(k, v)| ParameterNameValue::builder().parameter_name(*k).parameter_value(*v).build())
                .collect();
            let call = cx
                .elasticache()
                .modify_cache_parameter_group()
                .cache_parameter_group_name(name)
                .set_parameter_name_values(Some(pairs));
            settle(|| {
                cx.send_in(Service::ElastiCache, "ModifyCacheParameterGroup", op, || call.clone().send())
            })
            .await?;
        }
        Ok(())
    }

    async fn arn_of(cx: &Ctx, name: &str) -> Result<String, ProviderError> {
        let found = describe(cx, Some(name.to_owned())).await?;
        found.first().and_then(|g| g.arn()).map(str::to_owned).ok_or_else(|| missing("parameter group"))
    }

    #[async_trait]
    impl Kind for CacheParameterGroupKind {
        type Decl = CacheParameterGroup;
        type Out = CacheParameterGroupOut;
        const SERVICE: Service = Service::ElastiCache;
        const TIMINGS: Timings = Timings::secs(2, 2, 2, 2, 600);

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, CacheParameterGroup>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            // Then each group's parameters and tags: one call each (the
            // API has no batched form).
            let groups =
                named(by, |d| &d.name, |g: &Group| g.cache_parameter_group_name(), |n| describe(cx, n))
                    .await?;
            let mut out = Vec::new();
            for s in futures_util::future::join_all(groups.iter().map(|g| seen(cx, g))).await {
                out.extend(s?);
            }
            Ok(out)
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &CacheParameterGroup,
            tags: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            let call = cx
                .elasticache()
                .create_cache_parameter_group()
                .cache_parameter_group_name(&d.name)
                .cache_parameter_group_family(&d.family)
                .description(d.description.as_deref().unwrap_or(DEFAULT_DESCRIPTION))
                .set_tags(Some(ec_tags(tags)));
            cx.send_in(Service::ElastiCache, "CreateCacheParameterGroup", Operation::Create, || {
                call.clone().send()
            })
            .await?;
            let set: Vec<_> = d.parameters.iter().collect();
            apply_parameters(cx, &d.name, &set, &[], Operation::Create).await?;
            Ok(d.name.clone())
        }

        async fn update(
            &self,
            cx: &Ctx,
            name: &str,
            c: Change<'_, CacheParameterGroup>,
        ) -> Result<(), ProviderError> {
            // Only the parameters change in place.
            let (set, reset) = parameter_changes(&c.before.parameters, &c.after.parameters);
            apply_parameters(cx, name, &set, &reset, Operation::Update).await
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

        async fn delete(&self, cx: &Ctx, name: &str, _: &CacheParameterGroup) -> Result<(), ProviderError> {
            let call = cx.elasticache().delete_cache_parameter_group().cache_parameter_group_name(name);
            cx.send_in(Service::ElastiCache, "DeleteCacheParameterGroup", Operation::Delete, || {
                call.clone().send()
            })
            .await
            .map(drop)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_parameters_are_set_and_removed_ones_reset() {
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
        };
        let before = map(&[("maxmemory-policy", "allkeys-lru"), ("timeout", "300"), ("notify", "Ex")]);
        let after = map(&[("maxmemory-policy", "volatile-lru"), ("timeout", "300"), ("tcp-keepalive", "60")]);
        let (set, reset) = parameter_changes(&before, &after);
        let set: Vec<(&str, &str)> = set.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(set, [("maxmemory-policy", "volatile-lru"), ("tcp-keepalive", "60")]);
        assert_eq!(reset, ["notify"]);
        let (set, reset) = parameter_changes(&after, &after);
        assert!(set.is_empty() && reset.is_empty());
    }
}
