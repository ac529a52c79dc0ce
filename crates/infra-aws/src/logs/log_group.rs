use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::{Arn, KmsKeyArn, LogGroupName};

/// The retention periods CloudWatch Logs accepts, in days.
pub const RETENTION_DAYS: &[i32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/// A CloudWatch Logs log group (`aws_cloudwatch_log_group`). Its ID is its
/// name, unique per region; renaming replaces it (destroy first). The
/// retention and the KMS key change in place.
///
/// Outputs: `group.arn()` (`Arn`, without the `:*` suffix) and
/// `group.name()` (`LogGroupName`, e.g. for an ECS task's `awslogs-group`).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::logs::LogGroup;
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let group = stack.add("ecs-app", LogGroup {
///     name: "/ecs/prod-app".into(),
///     retention_in_days: Some(30),
///     ..Default::default()
/// });
/// let _name: Output<infra::aws::ids::LogGroupName> = group.name();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:logs:LogGroup",
    outputs(arn: Arn, name: LogGroupName),
    readiness = "on_id",
    replace = "delete_before_create",
    validate = validate_log_group,
    validate_type = crate::rules::unique
)]
pub struct LogGroup {
    /// The group's name, unique in the region (`/ecs/prod-app`).
    #[resource(force_new)]
    pub name: String,
    /// Days to keep events (one of [`RETENTION_DAYS`]); unset: forever.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_in_days: Option<i32>,
    /// The KMS key that encrypts the group's events (its key policy must
    /// let `logs.<region>.amazonaws.com` use it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<Input<KmsKeyArn>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_log_group(g: &LogGroup, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &g.tags);
    let n = g.name.chars().count();
    if n == 0 || n > 512 {
        ctx.error("name", format!("{:?} must be 1 to 512 characters; it has {n}", g.name));
    }
    if let Some(c) = g.name.chars().find(|c| !(c.is_ascii_alphanumeric() || "._-/#".contains(*c))) {
        ctx.error(
            "name",
            format!("{:?} has {c:?}: a log group name takes letters, digits and ._-/#", g.name),
        );
    }
    if let Some(d) = g.retention_in_days
        && !RETENTION_DAYS.contains(&d)
    {
        let allowed: Vec<String> = RETENTION_DAYS.iter().map(ToString::to_string).collect();
        ctx.error(
            "retention_in_days",
            format!("{d} is not a retention CloudWatch Logs offers ({})", allowed.join(", ")),
        );
    }
}

#[cfg(feature = "logs")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_cloudwatchlogs::types::LogGroup as SdkGroup;
    use infra_core::Input;
    use infra_engine::{Operation, ProviderError, Timings};

    use super::{LogGroup, LogGroupOut};
    use crate::ids::{Arn, KmsKeyArn, LogGroupName};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing, settle, user_tags};

    /// `aws:logs:LogGroup` through the CloudWatch Logs API.
    #[derive(Debug)]
    pub(crate) struct LogGroupKind;

    /// Groups whose name starts with `prefix`.
    async fn by_prefix(cx: &Ctx, prefix: &str) -> Result<Vec<SdkGroup>, ProviderError> {
        cx.paged(|next| {
            let call = cx.logs().describe_log_groups().log_group_name_prefix(prefix).set_next_token(next);
            async move {
                let out = cx
                    .send_in(Service::Logs, "DescribeLogGroups", Operation::Read, || call.clone().send())
                    .await?;
                Ok((out.log_groups.unwrap_or_default(), out.next_token))
            }
        })
        .await
    }

    /// The groups named `names`: one listing by their common prefix when
    /// it is a real one (`/ecs/…`), else one per name, all at once.
    async fn named(cx: &Ctx, names: &[String]) -> Result<Vec<SdkGroup>, ProviderError> {
        let common = names.iter().skip(1).fold(names.first().cloned().unwrap_or_default(), |p, n| {
            p.chars().zip(n.chars()).take_while(|(a, b)| a == b).map(|(a, _)| a).collect()
        });
        let listed = if names.len() == 1 || common.len() >= 5 {
            by_prefix(cx, &common).await?
        } else {
            let mut all = Vec::new();
            for r in futures_util::future::join_all(names.iter().map(|n| by_prefix(cx, n))).await {
                all.extend(r?);
            }
            all
        };
        Ok(listed
            .into_iter()
            .filter(|g| g.log_group_name().is_some_and(|n| names.iter().any(|x| x == n)))
            .collect())
    }

    fn arn_of(g: &SdkGroup) -> String {
        g.log_group_arn()
            .map(str::to_owned)
            .or_else(|| g.arn().map(|a| a.trim_end_matches(":*").to_owned()))
            .unwrap_or_default()
    }

    async fn seen(cx: &Ctx, g: SdkGroup) -> Result<Seen<LogGroupKind>, ProviderError> {
        let name = g.log_group_name().ok_or_else(|| missing("log group name"))?.to_owned();
        let arn = arn_of(&g);
        let call = cx.logs().list_tags_for_resource().resource_arn(&arn);
        let out =
            cx.send_in(Service::Logs, "ListTagsForResource", Operation::Read, || call.clone().send()).await?;
        let tags: Tags = out.tags.unwrap_or_default().into_iter().collect();
        let decl = LogGroup {
            name: name.clone(),
            retention_in_days: g.retention_in_days().filter(|d| *d > 0),
            kms_key_id: g.kms_key_id().map(|k| Input::Value(KmsKeyArn::unchecked(k))),
            tags: user_tags(&tags),
        };
        let out = LogGroupOut { arn: Arn::unchecked(arn), name: LogGroupName::unchecked(&name) };
        Ok(Seen::ready(name, decl, out, tags))
    }

    async fn retention(cx: &Ctx, name: &str, days: Option<i32>, op: Operation) -> Result<(), ProviderError> {
        let logs = cx.logs();
        match days {
            Some(d) => {
                let call = logs.put_retention_policy().log_group_name(name).retention_in_days(d);
                settle(|| cx.send_in(Service::Logs, "PutRetentionPolicy", op, || call.clone().send()))
                    .await?;
            }
            None => {
                let call = logs.delete_retention_policy().log_group_name(name);
                settle(|| cx.send_in(Service::Logs, "DeleteRetentionPolicy", op, || call.clone().send()))
                    .await?;
            }
        }
        Ok(())
    }

    #[async_trait]
    impl Kind for LogGroupKind {
        type Decl = LogGroup;
        type Out = LogGroupOut;
        const SERVICE: Service = Service::Logs;
        const TIMINGS: Timings = Timings::secs(1, 1, 1, 1, 120);

        async fn list(&self, cx: &Ctx, by: Lookup<'_, LogGroup>) -> Result<Vec<Seen<Self>>, ProviderError> {
            let groups = match by {
                Lookup::Ids(names) if !names.is_empty() => named(cx, names).await?,
                // The API lists no tags: a lost create is found by name.
                Lookup::Ids(_) | Lookup::Tag(..) => return Ok(Vec::new()),
                Lookup::Key(d) => named(cx, std::slice::from_ref(&d.name)).await?,
            };
            let mut out = Vec::new();
            for s in futures_util::future::join_all(groups.into_iter().map(|g| seen(cx, g))).await {
                match s {
                    Ok(s) => out.push(s),
                    // Deleted between the listing and its tags.
                    Err(e) if e.kind == infra_engine::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &LogGroup,
            tags: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            let call = cx
                .logs()
                .create_log_group()
                .log_group_name(&d.name)
                .set_kms_key_id(d.kms_key_id.as_ref().map(|k| k.id().to_owned()))
                .set_tags(Some(tags.clone().into_iter().collect()));
            cx.send_in(Service::Logs, "CreateLogGroup", Operation::Create, || call.clone().send()).await?;
            if d.retention_in_days.is_some() {
                retention(cx, &d.name, d.retention_in_days, Operation::Create).await?;
            }
            Ok(d.name.clone())
        }

        async fn update(&self, cx: &Ctx, id: &str, c: Change<'_, LogGroup>) -> Result<(), ProviderError> {
            let changed = |f: &str| c.fields.iter().any(|x| x == f);
            if changed("retention_in_days") {
                retention(cx, id, c.after.retention_in_days, Operation::Update).await?;
            }
            if changed("kms_key_id") {
                let logs = cx.logs();
                match &c.after.kms_key_id {
                    Some(k) => {
                        let call = logs.associate_kms_key().log_group_name(id).kms_key_id(k.id());
                        cx.send_in(Service::Logs, "AssociateKmsKey", Operation::Update, || {
                            call.clone().send()
                        })
                        .await?;
                    }
                    None => {
                        let call = logs.disassociate_kms_key().log_group_name(id);
                        cx.send_in(Service::Logs, "DisassociateKmsKey", Operation::Update, || {
                            call.clone().send()
                        })
                        .await?;
                    }
                }
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
            let group = named(cx, &[id.to_owned()]).await?;
            let arn = group.first().map(arn_of).ok_or_else(|| missing("log group"))?;
            if !remove.is_empty() {
                let keys = remove.iter().map(|k| (*k).clone()).collect();
                let call = cx.logs().untag_resource().resource_arn(&arn).set_tag_keys(Some(keys));
                cx.send_in(Service::Logs, "UntagResource", Operation::Update, || call.clone().send()).await?;
            }
            if !add.is_empty() {
                let pairs = add.iter().map(|(k, v)| ((*k).clone(), (*v).clone())).collect();
                let call = cx.logs().tag_resource().resource_arn(&arn).set_tags(Some(pairs));
                cx.send_in(Service::Logs, "TagResource", Operation::Update, || call.clone().send()).await?;
            }
            Ok(())
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &LogGroup) -> Result<(), ProviderError> {
            let call = cx.logs().delete_log_group().log_group_name(id);
            cx.send_in(Service::Logs, "DeleteLogGroup", Operation::Delete, || call.clone().send())
                .await
                .map(drop)
        }
    }
}
