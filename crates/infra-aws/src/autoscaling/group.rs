use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ids::{Arn, AutoScalingGroupName, LaunchTemplateId, SubnetId, TargetGroupArn};

/// The engine's tag on a group that waits for its capacity (see
/// [`AutoScalingGroup::wait_for_capacity`]): kept in the cloud so that
/// every read, a readiness poll included, knows it.
pub const WAIT_TAG: &str = "infra:wait-for-capacity";

/// Which version of a launch template a group launches.
#[derive(Debug, Clone, Default)]
pub enum TemplateVersion {
    /// `$Default`: the template's default version (AWS's default).
    #[default]
    Default,
    /// `$Latest`: the newest version. A new version changes nothing in the
    /// group, so it starts no instance refresh.
    Latest,
    /// A version number, e.g. `lt.latest_version()`: a new template
    /// version changes the group, which starts an instance refresh.
    Number(Input<i64>),
}

impl Serialize for TemplateVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TemplateVersion::Default => s.serialize_str("$Default"),
            TemplateVersion::Latest => s.serialize_str("$Latest"),
            TemplateVersion::Number(n) => n.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for TemplateVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = TemplateVersion;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"$Default\", \"$Latest\" or a version number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TemplateVersion, E> {
                TemplateVersion::parse(v).ok_or_else(|| E::custom(format!("{v:?} is not a template version")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<TemplateVersion, E> {
                Ok(TemplateVersion::Number(Input::Value(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<TemplateVersion, E> {
                i64::try_from(v).map(|v| TemplateVersion::Number(Input::Value(v))).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl TemplateVersion {
    /// `$Default`, `$Latest` or a number, as AWS spells them.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "$Default" => Some(TemplateVersion::Default),
            "$Latest" => Some(TemplateVersion::Latest),
            n => n.parse().ok().map(|n| TemplateVersion::Number(Input::Value(n))),
        }
    }

    /// The version as the API takes it (resolved).
    pub fn as_api(&self) -> String {
        match self {
            TemplateVersion::Default => "$Default".into(),
            TemplateVersion::Latest => "$Latest".into(),
            TemplateVersion::Number(n) => n.value().map(ToString::to_string).unwrap_or_default(),
        }
    }
}

/// The launch template a group launches (`launch_template { id, version }`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GroupLaunchTemplate {
    /// `lt.id()`.
    pub id: Input<LaunchTemplateId>,
    #[serde(default)]
    pub version: TemplateVersion,
}

/// One tag of a group (`tag { key, value, propagate_at_launch }`).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GroupTag {
    pub key: String,
    pub value: String,
    /// The group puts the tag on the instances it launches.
    #[serde(default)]
    pub propagate_at_launch: bool,
}

impl GroupTag {
    /// A tag the group's instances carry too.
    pub fn propagated(key: &str, value: &str) -> Self {
        GroupTag { key: key.into(), value: value.into(), propagate_at_launch: true }
    }

    /// A tag of the group only.
    pub fn group_only(key: &str, value: &str) -> Self {
        GroupTag { key: key.into(), value: value.into(), propagate_at_launch: false }
    }
}

/// How an instance refresh replaces instances (`Rolling`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RefreshStrategy {
    #[default]
    Rolling,
}

/// An instance refresh's preferences.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefreshPreferences {
    /// Percentage of the desired capacity that stays in service, 0–100
    /// (AWS: 90).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_healthy_percentage: Option<i32>,
    /// Seconds a new instance warms up before it counts as healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_warmup: Option<i32>,
}

/// Replace the group's instances when its launch template changes
/// (`instance_refresh { strategy, preferences }`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstanceRefresh {
    pub strategy: RefreshStrategy,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferences: Option<RefreshPreferences>,
}

impl InstanceRefresh {
    /// A rolling refresh keeping `min_healthy_percentage` in service.
    pub fn rolling(min_healthy_percentage: i32) -> Self {
        InstanceRefresh {
            strategy: RefreshStrategy::Rolling,
            preferences: Some(RefreshPreferences {
                min_healthy_percentage: Some(min_healthy_percentage),
                instance_warmup: None,
            }),
        }
    }
}

/// An EC2 Auto Scaling group (`aws_autoscaling_group`) launching a launch
/// template's instances into subnets, registered with target groups.
///
/// The name is the group's ID and natural key (unique per region); changing
/// it replaces the group, the new one first. Everything else changes in
/// place: sizes, template, subnets and health checks through
/// `UpdateAutoScalingGroup`, target groups through
/// `Attach`/`DetachLoadBalancerTargetGroups`, tags through
/// `CreateOrUpdateTags`/`DeleteTags`.
///
/// `desired_capacity` left unset means `min_size` (AWS's default); a group
/// its policies resize shows the new capacity as drift unless the field is
/// in `Options::ignore_changes`.
///
/// Tags are a typed list ([`GroupTag`]), as Terraform's `tag` blocks:
/// each says whether instances inherit it. The engine's own tags go on the
/// group only, never on its instances.
///
/// `instance_refresh` is not AWS state but what to do when the launch
/// template changes: `StartInstanceRefresh` after the group is updated. A
/// refresh that cannot start fails the update (the group has its new
/// template; start the refresh by hand). `wait_for_capacity`: readiness
/// waits until the group has `desired_capacity` (else `min_size`)
/// instances `InService`.
///
/// Outputs: `asg.name()` (`AutoScalingGroupName`, for policies and alarm
/// dimensions) and `asg.arn()`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::autoscaling::{
///     AutoScalingGroup, GroupLaunchTemplate, GroupTag, InstanceRefresh, TemplateVersion,
/// };
/// use infra::aws::ec2::{LaunchTemplate, Subnet, Vpc};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let vpc = stack.add("vpc", Vpc { cidr_block: "10.1.0.0/16".into(), ..Default::default() });
/// let subnet = stack.add("app-a", Subnet {
///     vpc_id: vpc.id().into(),
///     cidr_block: "10.1.1.0/24".into(),
///     availability_zone: "us-east-1a".into(),
///     ..Default::default()
/// });
/// let lt = stack.add("web-lt", LaunchTemplate {
///     name: "web".into(),
///     image_id: Some(infra::aws::AmiId::new("ami-0123456789abcdef0")?.into()),
///     instance_type: Some("t3.micro".into()),
///     ..Default::default()
/// });
/// let asg = stack.add("web-asg", AutoScalingGroup {
///     name: "prod-web-asg".into(),
///     launch_template: GroupLaunchTemplate { id: lt.id().into(), version: TemplateVersion::Latest },
///     min_size: 2,
///     max_size: 6,
///     desired_capacity: Some(2),
///     vpc_zone_identifier: vec![subnet.id().into()],
///     health_check_type: Some("ELB".into()),
///     health_check_grace_period: Some(300),
///     instance_refresh: Some(InstanceRefresh::rolling(50).into()),
///     tag: vec![GroupTag::propagated("Name", "prod-web-asg")],
///     ..Default::default()
/// });
/// let _name: Output<infra::aws::ids::AutoScalingGroupName> = asg.name();
/// assert!(stack.validate().is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:autoscaling:Group",
    outputs(arn: Arn, name: AutoScalingGroupName),
    readiness = "on_available",
    validate = validate_group,
    validate_stack = crate::rules::relations,
    validate_type = crate::rules::unique,
    normalise = defaults_unset
)]
pub struct AutoScalingGroup {
    /// The group's name, unique per region.
    #[resource(force_new)]
    pub name: String,
    pub launch_template: GroupLaunchTemplate,
    pub min_size: i32,
    pub max_size: i32,
    /// `min_size` when unset (AWS's default, recorded as unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired_capacity: Option<i32>,
    /// The subnets instances are launched in.
    #[resource(set)]
    pub vpc_zone_identifier: Vec<Input<SubnetId>>,
    #[resource(set)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub target_group_arns: Vec<Input<TargetGroupArn>>,
    /// `EC2` (the default, recorded as unset) or `ELB`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check_type: Option<String>,
    /// Seconds; 0 (the API's default) is recorded as unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check_grace_period: Option<i32>,
    /// Seconds; 300 (the default) is recorded as unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_cooldown: Option<i32>,
    /// In order; `["Default"]` is recorded as empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub termination_policies: Vec<String>,
    /// The group's tags, each propagated to its instances or not.
    #[resource(set)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tag: Vec<GroupTag>,
    /// What to do when the launch template changes; not AWS state (a read
    /// reports it unknown, so the recorded value stays).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_refresh: Option<Input<InstanceRefresh>>,
    /// Readiness waits for the group's capacity `InService`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub wait_for_capacity: bool,
}

/// AWS's named termination policies (a Lambda function's ARN is one too).
const TERMINATION_POLICIES: &[&str] = &[
    "Default",
    "AllocationStrategy",
    "OldestLaunchTemplate",
    "OldestLaunchConfiguration",
    "ClosestToNextInstanceHour",
    "NewestInstance",
    "OldestInstance",
];

fn validate_group(g: &AutoScalingGroup, ctx: &mut ValidationContext<'_>) {
    crate::rules::region(ctx);
    super::check_name(ctx, "name", &g.name);
    let mut keys = BTreeSet::new();
    for (i, t) in g.tag.iter().enumerate() {
        if !keys.insert(t.key.as_str()) {
            ctx.error(&format!("tag[{i}].key"), format!("{:?} is declared twice", t.key));
        }
    }
    let tags: BTreeMap<String, String> = g.tag.iter().map(|t| (t.key.clone(), t.value.clone())).collect();
    crate::rules::tags(ctx, "tag", &tags);
    if g.wait_for_capacity && tags.len() + 4 > crate::rules::MAX_TAGS {
        ctx.error("tag", "a group that waits for its capacity carries infra's fourth tag: at most 46 tags");
    }
    if g.min_size < 0 {
        ctx.error("min_size", format!("{} must be 0 or more", g.min_size));
    }
    if g.max_size < g.min_size {
        ctx.error("max_size", format!("{} is less than min_size {}", g.max_size, g.min_size));
    }
    if let Some(d) = g.desired_capacity
        && (d < g.min_size || d > g.max_size)
    {
        ctx.error(
            "desired_capacity",
            format!("{d} must be between min_size {} and max_size {}", g.min_size, g.max_size),
        );
    }
    if g.vpc_zone_identifier.is_empty() {
        ctx.error("vpc_zone_identifier", "a group needs at least one subnet");
    }
    if let TemplateVersion::Number(Input::Value(n)) = &g.launch_template.version
        && *n < 1
    {
        ctx.error("launch_template.version", format!("{n}: template versions start at 1"));
    }
    if let Some(t) = &g.health_check_type
        && t != "EC2"
        && t != "ELB"
    {
        ctx.error("health_check_type", format!("{t:?} must be \"EC2\" or \"ELB\""));
    }
    for (field, v) in
        [("health_check_grace_period", g.health_check_grace_period), ("default_cooldown", g.default_cooldown)]
    {
        if let Some(v) = v
            && v < 0
        {
            ctx.error(field, format!("{v} seconds must be 0 or more"));
        }
    }
    for (i, p) in g.termination_policies.iter().enumerate() {
        let lambda = p.starts_with("arn:") && p.contains(":lambda:");
        if !(TERMINATION_POLICIES.contains(&p.as_str()) || lambda) {
            ctx.error(
                &format!("termination_policies[{i}]"),
                format!(
                    "{p:?} is not a termination policy ({} or a Lambda ARN)",
                    TERMINATION_POLICIES.join(", ")
                ),
            );
        }
    }
    if let Some(Input::Value(r)) = &g.instance_refresh
        && let Some(p) = &r.preferences
    {
        if let Some(m) = p.min_healthy_percentage
            && !(0..=100).contains(&m)
        {
            ctx.error("instance_refresh.preferences.min_healthy_percentage", format!("{m} must be 0 to 100"));
        }
        if let Some(w) = p.instance_warmup
            && w < 0
        {
            ctx.error(
                "instance_refresh.preferences.instance_warmup",
                format!("{w} seconds must be 0 or more"),
            );
        }
    }
}

/// The canonical form: AWS's defaults recorded as unset, tags in key order.
fn defaults_unset(g: &mut AutoScalingGroup) {
    if g.desired_capacity == Some(g.min_size) {
        g.desired_capacity = None;
    }
    if g.health_check_type.as_deref() == Some("EC2") {
        g.health_check_type = None;
    }
    if g.health_check_grace_period == Some(0) {
        g.health_check_grace_period = None;
    }
    if g.default_cooldown == Some(300) {
        g.default_cooldown = None;
    }
    if g.termination_policies.len() == 1 && g.termination_policies[0] == "Default" {
        g.termination_policies.clear();
    }
    g.tag.sort();
}

#[cfg(feature = "autoscaling")]
pub(crate) mod imp {
    use std::collections::BTreeMap;

    use async_trait::async_trait;
    use aws_sdk_autoscaling::types::{
        Filter, LaunchTemplateSpecification, LifecycleState, RefreshPreferences as SdkPreferences,
        RefreshStrategy as SdkStrategy, Tag,
    };
    use infra_core::{Input, Value};
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{
        AutoScalingGroup, AutoScalingGroupOut, GroupLaunchTemplate, GroupTag, TemplateVersion, WAIT_TAG,
    };
    use crate::autoscaling::sdk::{done_if_gone, tag};
    use crate::ids::{Arn, AutoScalingGroupName, LaunchTemplateId, SubnetId, TargetGroupArn};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Status, Tags, missing};

    /// `aws:autoscaling:Group` through the Auto Scaling API.
    #[derive(Debug)]
    pub(crate) struct GroupKind;

    /// Names one describe takes (its page size).
    const NAMES_PER_CALL: usize = 50;

    async fn describe(
        cx: &Ctx,
        names: Option<Vec<String>>,
        filters: Option<Vec<Filter>>,
    ) -> Result<Vec<aws_sdk_autoscaling::types::AutoScalingGroup>, ProviderError> {
        cx.paged(|next| {
            let call = cx
                .autoscaling()
                .describe_auto_scaling_groups()
                .set_auto_scaling_group_names(names.clone())
                .set_filters(filters.clone())
                .max_records(100)
                .set_next_token(next);
            async move {
                let out = cx
                    .send_in(Service::AutoScaling, "DescribeAutoScalingGroups", Operation::Read, || {
                        call.clone().send()
                    })
                    .await?;
                Ok((out.auto_scaling_groups.unwrap_or_default(), out.next_token))
            }
        })
        .await
    }

    fn subnets(d: &AutoScalingGroup) -> String {
        d.vpc_zone_identifier.iter().map(|s| s.id().to_owned()).collect::<Vec<_>>().join(",")
    }

    fn template(t: &GroupLaunchTemplate) -> LaunchTemplateSpecification {
        LaunchTemplateSpecification::builder()
            .launch_template_id(t.id.id())
            .version(t.version.as_api())
            .build()
    }

    fn seen(
        cx: &Ctx,
        g: &aws_sdk_autoscaling::types::AutoScalingGroup,
    ) -> Result<Seen<GroupKind>, ProviderError> {
        let name = g.auto_scaling_group_name().ok_or_else(|| missing("group name"))?.to_owned();
        let tags: Tags = g
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
            .collect();
        let user: Vec<GroupTag> = g
            .tags()
            .iter()
            .filter_map(|t| {
                let key = t.key()?;
                (!key.starts_with("infra:")).then(|| GroupTag {
                    key: key.to_owned(),
                    value: t.value().unwrap_or_default().to_owned(),
                    propagate_at_launch: t.propagate_at_launch().unwrap_or(false),
                })
            })
            .collect();
        let wait = tags.get(WAIT_TAG).is_some_and(|v| v == "true");
        let lt = g.launch_template();
        let decl = AutoScalingGroup {
            name: name.clone(),
            launch_template: GroupLaunchTemplate {
                id: Input::Value(LaunchTemplateId::unchecked(
                    lt.and_then(|t| t.launch_template_id()).unwrap_or_default(),
                )),
                version: lt.and_then(|t| t.version()).and_then(TemplateVersion::parse).unwrap_or_default(),
            },
            min_size: g.min_size().unwrap_or_default(),
            max_size: g.max_size().unwrap_or_default(),
            desired_capacity: g.desired_capacity(),
            vpc_zone_identifier: g
                .vpc_zone_identifier()
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Input::Value(SubnetId::unchecked(s)))
                .collect(),
            target_group_arns: g
                .target_group_arns()
                .iter()
                .map(|a| Input::Value(TargetGroupArn::unchecked(a)))
                .collect(),
            health_check_type: g.health_check_type().map(str::to_owned),
            health_check_grace_period: g.health_check_grace_period(),
            default_cooldown: g.default_cooldown(),
            termination_policies: g.termination_policies().to_vec(),
            tag: user,
            // Not AWS state: unknown, so the recorded value stays.
            instance_refresh: Some(Input::Expr(Value::Unknown)),
            wait_for_capacity: wait,
        };
        let in_service =
            g.instances().iter().filter(|i| i.lifecycle_state() == Some(&LifecycleState::InService)).count();
        let wanted = g.desired_capacity().or(g.min_size()).unwrap_or_default();
        let status = match g.status() {
            Some(s) if s.to_ascii_lowercase().contains("delete") => Status::Deleting(s.to_owned()),
            _ if wait && (in_service as i64) < i64::from(wanted) => {
                Status::Pending(format!("{in_service} of {wanted} instances InService"))
            }
            _ => Status::Ready,
        };
        let arn = g.auto_scaling_group_arn().map_or_else(
            || cx.arn("autoscaling", "", &format!("autoScalingGroup:*:autoScalingGroupName/{name}")),
            str::to_owned,
        );
        let out =
            AutoScalingGroupOut { arn: Arn::unchecked(arn), name: AutoScalingGroupName::unchecked(&name) };
        Ok(Seen { id: name, decl, out, tags, status })
    }

    async fn create_or_update_tags(cx: &Ctx, tags: Vec<Tag>) -> Result<(), ProviderError> {
        if tags.is_empty() {
            return Ok(());
        }
        let call = cx.autoscaling().create_or_update_tags().set_tags(Some(tags));
        cx.send_in(Service::AutoScaling, "CreateOrUpdateTags", Operation::Update, || call.clone().send())
            .await
            .map(drop)
    }

    async fn delete_tags(cx: &Ctx, tags: Vec<Tag>) -> Result<(), ProviderError> {
        if tags.is_empty() {
            return Ok(());
        }
        let call = cx.autoscaling().delete_tags().set_tags(Some(tags));
        cx.send_in(Service::AutoScaling, "DeleteTags", Operation::Update, || call.clone().send())
            .await
            .map(drop)
    }

    /// Starts the instance refresh the declaration asks for after a new
    /// launch template. Any failure fails the update, naming what is left
    /// to do: the group already launches the new template, so a retry of
    /// the update would find nothing to change and never start the refresh
    /// (the emulator answers this call with HTTP 500: not implemented).
    async fn start_refresh(cx: &Ctx, name: &str, d: &AutoScalingGroup) -> Result<(), ProviderError> {
        let Some(Input::Value(r)) = &d.instance_refresh else { return Ok(()) };
        let prefs = r.preferences.as_ref().map(|p| {
            SdkPreferences::builder()
                .set_min_healthy_percentage(p.min_healthy_percentage)
                .set_instance_warmup(p.instance_warmup)
                .build()
        });
        let call = cx
            .autoscaling()
            .start_instance_refresh()
            .auto_scaling_group_name(name)
            .strategy(SdkStrategy::Rolling)
            .set_preferences(prefs);
        match cx
            .send_in(Service::AutoScaling, "StartInstanceRefresh", Operation::Update, || call.clone().send())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => Err(ProviderError {
                kind: ErrorKind::Final,
                message: format!(
                    "group {name} now launches the new launch template, but its instance refresh did not start \
                     ({}): its instances still run the old one; start the refresh by hand \
                     (aws autoscaling start-instance-refresh --auto-scaling-group-name {name})",
                    e.message
                ),
                code: Some(e.code.unwrap_or_else(|| "InstanceRefreshNotStarted".into())),
                request_id: e.request_id,
            }),
        }
    }

    #[async_trait]
    impl Kind for GroupKind {
        type Decl = AutoScalingGroup;
        type Out = AutoScalingGroupOut;
        const SERVICE: Service = Service::AutoScaling;
        const TIMINGS: Timings = Timings::secs(3, 3, 10, 5, 600);
        const DELETE_WAITS: bool = true;

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, AutoScalingGroup>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let groups = match by {
                Lookup::Ids(ids) => {
                    let mut all = Vec::new();
                    for chunk in ids.chunks(NAMES_PER_CALL) {
                        all.extend(describe(cx, Some(chunk.to_vec()), None).await?);
                    }
                    all
                }
                Lookup::Tag(k, v) => {
                    let filter = Filter::builder().name(format!("tag:{k}")).values(v).build();
                    describe(cx, None, Some(vec![filter])).await?
                }
                // The name is unique per region.
                Lookup::Key(d) => describe(cx, Some(vec![d.name.clone()]), None).await?,
            };
            groups.iter().map(|g| seen(cx, g)).collect()
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &AutoScalingGroup,
            tags: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            // The user's tags with their propagation; the engine's on the
            // group only (instances carrying `infra:stack` would be listed
            // as the stack's orphans).
            let mut all: Vec<Tag> =
                d.tag.iter().map(|t| tag(&d.name, &t.key, &t.value, t.propagate_at_launch)).collect();
            all.extend(
                tags.iter()
                    .filter(|(k, _)| !d.tag.iter().any(|t| t.key == **k))
                    .map(|(k, v)| tag(&d.name, k, v, false)),
            );
            if d.wait_for_capacity {
                all.push(tag(&d.name, WAIT_TAG, "true", false));
            }
            let tgs: Vec<String> = d.target_group_arns.iter().map(|a| a.id().to_owned()).collect();
            // The defaults are sent: every endpoint then reports the same.
            let call = cx
                .autoscaling()
                .create_auto_scaling_group()
                .auto_scaling_group_name(&d.name)
                .launch_template(template(&d.launch_template))
                .min_size(d.min_size)
                .max_size(d.max_size)
                .desired_capacity(d.desired_capacity.unwrap_or(d.min_size))
                .vpc_zone_identifier(subnets(d))
                .set_target_group_arns((!tgs.is_empty()).then_some(tgs))
                .health_check_type(d.health_check_type.as_deref().unwrap_or("EC2"))
                .health_check_grace_period(d.health_check_grace_period.unwrap_or(0))
                .default_cooldown(d.default_cooldown.unwrap_or(300))
                .set_termination_policies(
                    (!d.termination_policies.is_empty()).then(|| d.termination_policies.clone()),
                )
                .set_tags(Some(all));
            // AWS refuses a taken name (`AlreadyExists`: the engine finds
            // the group by its name); the emulator overwrites it instead,
            // so a lost answer is found by its token tag before any retry.
            cx.send_in(Service::AutoScaling, "CreateAutoScalingGroup", Operation::Create, || {
                call.clone().send()
            })
            .await?;
            Ok(d.name.clone())
        }

        async fn update(
            &self,
            cx: &Ctx,
            id: &str,
            c: Change<'_, AutoScalingGroup>,
        ) -> Result<(), ProviderError> {
            let (before, d) = (c.before, c.after);
            let changed = |f: &str| c.fields.iter().any(|x| x == f);
            let group_fields = [
                "launch_template",
                "min_size",
                "max_size",
                "desired_capacity",
                "vpc_zone_identifier",
                "health_check_type",
                "health_check_grace_period",
                "default_cooldown",
                "termination_policies",
            ];
            if group_fields.iter().any(|f| changed(f)) {
                let mut call = cx.autoscaling().update_auto_scaling_group().auto_scaling_group_name(id);
                if changed("launch_template") {
                    call = call.launch_template(template(&d.launch_template));
                }
                if changed("min_size") || changed("max_size") || changed("desired_capacity") {
                    // Together: AWS checks min ≤ desired ≤ max on the result.
                    call = call
                        .min_size(d.min_size)
                        .max_size(d.max_size)
                        .desired_capacity(d.desired_capacity.unwrap_or(d.min_size));
                }
                if changed("vpc_zone_identifier") {
                    call = call.vpc_zone_identifier(subnets(d));
                }
                if changed("health_check_type") {
                    call = call.health_check_type(d.health_check_type.as_deref().unwrap_or("EC2"));
                }
                if changed("health_check_grace_period") {
                    call = call.health_check_grace_period(d.health_check_grace_period.unwrap_or(0));
                }
                if changed("default_cooldown") {
                    call = call.default_cooldown(d.default_cooldown.unwrap_or(300));
                }
                if changed("termination_policies") {
                    let policies = if d.termination_policies.is_empty() {
                        vec!["Default".to_owned()]
                    } else {
                        d.termination_policies.clone()
                    };
                    call = call.set_termination_policies(Some(policies));
                }
                cx.send_in(Service::AutoScaling, "UpdateAutoScalingGroup", Operation::Update, || {
                    call.clone().send()
                })
                .await?;
            }
            if changed("target_group_arns") {
                let ids = |g: &AutoScalingGroup| -> Vec<String> {
                    g.target_group_arns.iter().map(|a| a.id().to_owned()).collect()
                };
                let (had, want) = (ids(before), ids(d));
                let gone: Vec<String> = had.iter().filter(|a| !want.contains(a)).cloned().collect();
                let new: Vec<String> = want.iter().filter(|a| !had.contains(a)).cloned().collect();
                if !new.is_empty() {
                    let call = cx
                        .autoscaling()
                        .attach_load_balancer_target_groups()
                        .auto_scaling_group_name(id)
                        .set_target_group_arns(Some(new));
                    let name = "AttachLoadBalancerTargetGroups";
                    cx.send_in(Service::AutoScaling, name, Operation::Update, || call.clone().send()).await?;
                }
                if !gone.is_empty() {
                    let call = cx
                        .autoscaling()
                        .detach_load_balancer_target_groups()
                        .auto_scaling_group_name(id)
                        .set_target_group_arns(Some(gone));
                    let name = "DetachLoadBalancerTargetGroups";
                    cx.send_in(Service::AutoScaling, name, Operation::Update, || call.clone().send()).await?;
                }
            }
            if changed("tag") {
                let had: BTreeMap<&str, &GroupTag> = before.tag.iter().map(|t| (t.key.as_str(), t)).collect();
                let want: BTreeMap<&str, &GroupTag> = d.tag.iter().map(|t| (t.key.as_str(), t)).collect();
                let gone = had
                    .iter()
                    .filter(|(k, _)| !want.contains_key(*k))
                    .map(|(_, t)| tag(id, &t.key, &t.value, t.propagate_at_launch))
                    .collect();
                delete_tags(cx, gone).await?;
                let put = want
                    .iter()
                    .filter(|(k, t)| had.get(*k) != Some(*t))
                    .map(|(_, t)| tag(id, &t.key, &t.value, t.propagate_at_launch))
                    .collect();
                create_or_update_tags(cx, put).await?;
            }
            if changed("wait_for_capacity") {
                let t = vec![tag(id, WAIT_TAG, "true", false)];
                if d.wait_for_capacity {
                    create_or_update_tags(cx, t).await?
                } else {
                    delete_tags(cx, t).await?
                }
            }
            if changed("launch_template") {
                start_refresh(cx, id, d).await?;
            }
            Ok(())
        }

        /// The engine's tags (on a group adopted untagged): on the group
        /// only, never propagated to its instances.
        async fn retag(
            &self,
            cx: &Ctx,
            id: &str,
            remove: &[&String],
            add: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            delete_tags(cx, remove.iter().map(|k| tag(id, k, "", false)).collect()).await?;
            create_or_update_tags(cx, add.iter().map(|(k, v)| tag(id, k, v, false)).collect()).await
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &AutoScalingGroup) -> Result<(), ProviderError> {
            // ForceDelete terminates the instances with the group; the group
            // stays listed ("Delete in progress") until they are gone.
            let call =
                cx.autoscaling().delete_auto_scaling_group().auto_scaling_group_name(id).force_delete(true);
            done_if_gone(
                cx.send_in(Service::AutoScaling, "DeleteAutoScalingGroup", Operation::Delete, || {
                    call.clone().send()
                })
                .await,
            )
        }
    }
}
