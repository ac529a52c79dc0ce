use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::{Arn, DbSubnetGroupName, SubnetId, VpcId};

/// What AWS requires as a description when the declaration gives none.
pub(crate) const DEFAULT_DESCRIPTION: &str = "Managed by infra";

/// An RDS DB subnet group (`aws_db_subnet_group`): the subnets of one VPC,
/// in at least two availability zones, a cluster's instances are placed
/// in.
///
/// Its ID is its name, unique per region; AWS stores it lowercased, so it
/// must be spelt so. The name replaces the group (a new name is a new
/// group); the description, the subnets and the tags change in place
/// (`ModifyDBSubnetGroup`).
///
/// Outputs: `group.name()` (`DbSubnetGroupName`, for a cluster's
/// `db_subnet_group_name`), `arn`, `vpc_id`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::{Subnet, Vpc};
/// use infra::aws::rds::DbSubnetGroup;
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let vpc = stack.add("vpc", Vpc { cidr_block: "10.0.0.0/16".into(), ..Default::default() });
/// let subnets: Vec<_> = ["a", "b"].iter().enumerate().map(|(i, az)| {
///     stack.add(&format!("data-{az}"), Subnet {
///         vpc_id: vpc.id().into(),
///         cidr_block: format!("10.0.{}.0/24", 20 + i),
///         availability_zone: format!("us-east-1{az}"),
///         ..Default::default()
///     })
/// }).collect();
/// let group = stack.add("data", DbSubnetGroup {
///     name: "product-data".into(),
///     subnet_ids: subnets.iter().map(|s| s.id().into()).collect(),
///     ..Default::default()
/// });
/// let _name: Output<infra::aws::ids::DbSubnetGroupName> = group.name();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:rds:SubnetGroup",
    outputs(arn: Arn, name: DbSubnetGroupName, vpc_id: VpcId),
    readiness = "on_id",
    validate = validate_subnet_group,
    validate_stack = crate::rules::relations,
    validate_type = crate::rules::unique,
    normalise = defaults_unset
)]
pub struct DbSubnetGroup {
    /// Up to 255 lowercase letters, digits, periods, underscores, spaces
    /// and hyphens; not `default`.
    #[resource(force_new)]
    pub name: String,
    /// Unset: "Managed by infra" (AWS requires one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// At least two subnets, in two availability zones.
    #[resource(set)]
    pub subnet_ids: Vec<Input<SubnetId>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_subnet_group(g: &DbSubnetGroup, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &g.tags);
    let n = g.name.chars().count();
    if n == 0 || n > 255 {
        ctx.error("name", format!("{:?} must be 1 to 255 characters; it has {n}", g.name));
    }
    if let Some(c) = g.name.chars().find(|c| !(c.is_ascii_alphanumeric() || "._- ".contains(*c))) {
        ctx.error(
            "name",
            format!("{:?} has {c:?}: letters, digits, periods, underscores, spaces and hyphens only", g.name),
        );
    }
    if g.name.chars().any(|c| c.is_ascii_uppercase()) {
        ctx.error(
            "name",
            format!("{:?} has upper-case letters: AWS stores it lowercased, so spell it so", g.name),
        );
    }
    if g.name == "default" {
        ctx.error("name", "`default` is the VPC's default group, which AWS keeps for itself");
    }
    if g.description.as_ref().is_some_and(|d| d.is_empty() || d.chars().count() > 255) {
        ctx.error("description", "a description is 1 to 255 characters (leave it unset for the default)");
    }
    if g.subnet_ids.len() < 2 {
        ctx.error("subnet_ids", "a DB subnet group needs subnets in at least two availability zones");
    }
}

/// AWS's defaults recorded as unset.
fn defaults_unset(g: &mut DbSubnetGroup) {
    if g.description.as_deref() == Some(DEFAULT_DESCRIPTION) {
        g.description = None;
    }
}

#[cfg(feature = "rds")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_rds::types::DbSubnetGroup as Group;
    use infra_core::Input;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{DEFAULT_DESCRIPTION, DbSubnetGroup, DbSubnetGroupOut};
    use crate::ids::{Arn, DbSubnetGroupName, SubnetId, VpcId};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing, user_tags};
    use crate::rds::sdk::{each, list_tags, rds_tags, retag, send, taken};

    /// `aws:rds:SubnetGroup`.
    #[derive(Debug)]
    pub(crate) struct DbSubnetGroupKind;

    /// The group `name`, or every group (DescribeDBSubnetGroups takes one
    /// name or none).
    async fn describe(cx: &Ctx, name: Option<&str>) -> Result<Vec<Group>, ProviderError> {
        let found = cx
            .paged(|next| {
                let call = cx
                    .rds()
                    .describe_db_subnet_groups()
                    .set_db_subnet_group_name(name.map(str::to_owned))
                    .set_marker(next);
                async move {
                    let out =
                        send(cx, "DescribeDBSubnetGroups", Operation::Read, || call.clone().send()).await?;
                    Ok((out.db_subnet_groups.unwrap_or_default(), out.marker))
                }
            })
            .await;
        match found {
            Err(e) if e.kind == ErrorKind::NotFound => Ok(Vec::new()),
            other => other,
        }
    }

    async fn seen(cx: &Ctx, g: Group) -> Result<Seen<DbSubnetGroupKind>, ProviderError> {
        let name = g.db_subnet_group_name().ok_or_else(|| missing("subnet group name"))?.to_owned();
        let arn = g.db_subnet_group_arn().unwrap_or_default().to_owned();
        let tags = list_tags(cx, &arn).await?;
        let decl = DbSubnetGroup {
            name: name.clone(),
            description: g.db_subnet_group_description().map(str::to_owned),
            subnet_ids: g
                .subnets()
                .iter()
                .filter_map(|s| s.subnet_identifier())
                .map(|s| Input::Value(SubnetId::unchecked(s)))
                .collect(),
            tags: user_tags(&tags),
        };
        let out = DbSubnetGroupOut {
            arn: Arn::unchecked(arn),
            name: DbSubnetGroupName::unchecked(&name),
            vpc_id: VpcId::unchecked(g.vpc_id().unwrap_or_default()),
        };
        Ok(Seen::ready(name, decl, out, tags))
    }

    #[async_trait]
    impl Kind for DbSubnetGroupKind {
        type Decl = DbSubnetGroup;
        type Out = DbSubnetGroupOut;
        const SERVICE: Service = Service::Rds;
        const TIMINGS: Timings = Timings::secs(2, 2, 5, 2, 900);

        /// One call for one name, else one listing of the region's groups
        /// (at most a few hundred); then each group's tags
        /// (`ListTagsForResource`: DescribeDBSubnetGroups returns none).
        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, DbSubnetGroup>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let groups = match by {
                Lookup::Ids([one]) | Lookup::Key(DbSubnetGroup { name: one, .. }) => {
                    describe(cx, Some(one)).await?
                }
                Lookup::Ids([]) | Lookup::Tag(..) => return Ok(Vec::new()),
                Lookup::Ids(names) => {
                    let mut all = describe(cx, None).await?;
                    all.retain(|g| g.db_subnet_group_name().is_some_and(|n| names.iter().any(|x| x == n)));
                    all
                }
            };
            each(groups, |g| seen(cx, g)).await
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &DbSubnetGroup,
            tags: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            if !describe(cx, Some(&d.name)).await?.is_empty() {
                return Err(taken("DB subnet group", &d.name));
            }
            let call = cx
                .rds()
                .create_db_subnet_group()
                .db_subnet_group_name(&d.name)
                .db_subnet_group_description(d.description.as_deref().unwrap_or(DEFAULT_DESCRIPTION))
                .set_subnet_ids(Some(d.subnet_ids.iter().map(|s| s.id().to_owned()).collect()))
                .set_tags(Some(rds_tags(tags)));
            send(cx, "CreateDBSubnetGroup", Operation::Create, || call.clone().send()).await?;
            Ok(d.name.clone())
        }

        /// The description and the subnets, in one call (it takes both).
        async fn update(
            &self,
            cx: &Ctx,
            id: &str,
            c: Change<'_, DbSubnetGroup>,
        ) -> Result<(), ProviderError> {
            let d = c.after;
            let call = cx
                .rds()
                .modify_db_subnet_group()
                .db_subnet_group_name(id)
                .db_subnet_group_description(d.description.as_deref().unwrap_or(DEFAULT_DESCRIPTION))
                .set_subnet_ids(Some(d.subnet_ids.iter().map(|s| s.id().to_owned()).collect()));
            send(cx, "ModifyDBSubnetGroup", Operation::Update, || call.clone().send()).await.map(drop)
        }

        async fn retag(
            &self,
            cx: &Ctx,
            id: &str,
            remove: &[&String],
            add: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            let found = describe(cx, Some(id)).await?;
            let arn =
                found.first().and_then(|g| g.db_subnet_group_arn()).ok_or_else(|| missing("subnet group"))?;
            retag(cx, arn, remove, add).await
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &DbSubnetGroup) -> Result<(), ProviderError> {
            let call = cx.rds().delete_db_subnet_group().db_subnet_group_name(id);
            send(cx, "DeleteDBSubnetGroup", Operation::Delete, || call.clone().send()).await.map(drop)
        }
    }
}
