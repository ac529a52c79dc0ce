use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use crate::ids::{TargetGroupArn, VpcId};

/// A target group's health check (`health_check { … }`). Every part left
/// unset is AWS's default for an HTTP(S) group, and a part set to that
/// default is recorded as unset: enabled, `/`, `traffic-port`, the group's
/// protocol, matcher `200`, every 30 s, 5 s timeout, 5 healthy and 2
/// unhealthy checks.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct HealthCheck {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Starts with `/`, at most 1024 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `traffic-port` or 1 to 65535.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// `HTTP` or `HTTPS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// HTTP codes: `200`, `200,202`, `200-299`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matcher: Option<String>,
    /// 5 to 300 seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<i32>,
    /// 2 to 120 seconds, less than the interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i32>,
    /// 2 to 10.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthy_threshold: Option<i32>,
    /// 2 to 10.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unhealthy_threshold: Option<i32>,
}

/// A target group's stickiness (`stickiness { … }`): `type_` `lb_cookie`
/// (with `cookie_duration`, 1 to 604800 s, default 86400) or `app_cookie`
/// (with `cookie_name`). Disabled stickiness is recorded as unset.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Stickiness {
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie_duration: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie_name: Option<String>,
    pub enabled: bool,
}

/// A target group of an application load balancer (`aws_lb_target_group`):
/// HTTP or HTTPS targets by instance or IP address (`target_type = "ip"`
/// for Fargate tasks).
///
/// Name, port, protocol, VPC and target type cannot change: a change
/// replaces the group, create first so that the listeners using it move to
/// the new one before the old one goes. Names are unique per region, so a
/// replacement needs a new name too. The health check
/// (`ModifyTargetGroup`), `deregistration_delay` and `stickiness`
/// (`ModifyTargetGroupAttributes`) change in place.
///
/// Outputs: `tg.arn()` (`TargetGroupArn`), `tg.arn_suffix()`
/// (`targetgroup/<name>/<id>`, CloudWatch's `TargetGroup` dimension) and
/// `tg.name()`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::Vpc;
/// use infra::aws::elbv2::{HealthCheck, Stickiness, TargetGroup};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let vpc = stack.add("vpc", Vpc { cidr_block: "10.1.0.0/16".into(), ..Default::default() });
/// let tg = stack.add("web-tg", TargetGroup {
///     name: "prod-web-tg".into(),
///     port: 80,
///     protocol: "HTTP".into(),
///     vpc_id: vpc.id().into(),
///     target_type: Some("ip".into()),
///     health_check: Some(HealthCheck { path: Some("/health".into()), healthy_threshold: Some(2), ..Default::default() }),
///     stickiness: Some(Stickiness { type_: "lb_cookie".into(), cookie_duration: Some(86400), enabled: true, ..Default::default() }),
///     ..Default::default()
/// });
/// let _arn: Output<infra::aws::ids::TargetGroupArn> = tg.arn();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:elbv2:TargetGroup",
    outputs(arn: TargetGroupArn, arn_suffix: String, name: String),
    readiness = "on_id",
    validate = validate_target_group,
    validate_stack = crate::rules::relations,
    validate_type = crate::rules::unique,
    normalise = defaults_unset
)]
pub struct TargetGroup {
    /// Unique per region: 1 to 32 letters, digits and hyphens.
    #[resource(force_new)]
    pub name: String,
    /// 1 to 65535.
    #[resource(force_new)]
    pub port: i32,
    /// `HTTP` or `HTTPS`.
    #[resource(force_new)]
    pub protocol: String,
    #[resource(force_new)]
    pub vpc_id: Input<VpcId>,
    /// `instance` (the default, recorded as unset) or `ip`.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// 0 to 3600 seconds; 300 (the default) is recorded as unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deregistration_delay: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stickiness: Option<Stickiness>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_target_group(t: &TargetGroup, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &t.tags);
    super::check_name(ctx, "name", &t.name);
    if !(1..=65535).contains(&t.port) {
        ctx.error("port", format!("port {} is outside 1-65535", t.port));
    }
    if !matches!(t.protocol.as_str(), "HTTP" | "HTTPS") {
        ctx.error(
            "protocol",
            format!("{:?} must be HTTP or HTTPS (an application load balancer's)", t.protocol),
        );
    }
    if let Some(tt) = &t.target_type
        && !matches!(tt.as_str(), "instance" | "ip")
    {
        ctx.error("target_type", format!("{tt:?} must be instance or ip"));
    }
    if let Some(h) = &t.health_check {
        check_health(ctx, h);
    }
    if let Some(d) = t.deregistration_delay
        && !(0..=3600).contains(&d)
    {
        ctx.error("deregistration_delay", format!("{d} must be 0 to 3600 seconds"));
    }
    if let Some(s) = &t.stickiness {
        match s.type_.as_str() {
            "lb_cookie" => {
                if s.cookie_name.is_some() {
                    ctx.error("stickiness.cookie_name", "only app_cookie stickiness takes a cookie name");
                }
            }
            "app_cookie" => {
                if s.cookie_name.as_deref().is_none_or(str::is_empty) {
                    ctx.error(
                        "stickiness.cookie_name",
                        "app_cookie stickiness needs the application's cookie name",
                    );
                }
            }
            other => ctx.error("stickiness.type", format!("{other:?} must be lb_cookie or app_cookie")),
        }
        if let Some(d) = s.cookie_duration
            && !(1..=604_800).contains(&d)
        {
            ctx.error("stickiness.cookie_duration", format!("{d} must be 1 to 604800 seconds"));
        }
    }
}

fn check_health(ctx: &mut ValidationContext<'_>, h: &HealthCheck) {
    if let Some(p) = &h.path
        && (!p.starts_with('/') || p.len() > 1024)
    {
        ctx.error("health_check.path", format!("{p:?} must start with / and be at most 1024 characters"));
    }
    if let Some(p) = &h.port
        && p != "traffic-port"
        && !p.parse::<u16>().is_ok_and(|n| n >= 1)
    {
        ctx.error("health_check.port", format!("{p:?} must be traffic-port or 1-65535"));
    }
    if let Some(p) = &h.protocol
        && !matches!(p.as_str(), "HTTP" | "HTTPS")
    {
        ctx.error("health_check.protocol", format!("{p:?} must be HTTP or HTTPS"));
    }
    if let Some(m) = &h.matcher {
        let ok = !m.is_empty()
            && m.split(',').all(|part| {
                let code = |c: &str| c.parse::<u16>().is_ok_and(|n| (200..=499).contains(&n));
                match part.split_once('-') {
                    Some((a, b)) => code(a) && code(b),
                    None => code(part),
                }
            });
        if !ok {
            ctx.error(
                "health_check.matcher",
                format!("{m:?} must be HTTP codes 200-499: 200, 200,202 or 200-299"),
            );
        }
    }
    for (field, v, range) in [
        ("interval", h.interval, 5..=300),
        ("timeout", h.timeout, 2..=120),
        ("healthy_threshold", h.healthy_threshold, 2..=10),
        ("unhealthy_threshold", h.unhealthy_threshold, 2..=10),
    ] {
        if let Some(v) = v
            && !range.contains(&v)
        {
            ctx.error(
                &format!("health_check.{field}"),
                format!("{v} is outside {}-{}", range.start(), range.end()),
            );
        }
    }
    if h.timeout.unwrap_or(5) >= h.interval.unwrap_or(30) {
        ctx.error("health_check.timeout", "the timeout must be less than the interval");
    }
}

/// AWS's defaults recorded as unset.
fn defaults_unset(t: &mut TargetGroup) {
    if t.target_type.as_deref() == Some("instance") {
        t.target_type = None;
    }
    if t.deregistration_delay == Some(300) {
        t.deregistration_delay = None;
    }
    if let Some(h) = &mut t.health_check {
        let protocol = t.protocol.clone();
        let unset_if = |v: &mut Option<String>, default: &str| {
            if v.as_deref() == Some(default) {
                *v = None;
            }
        };
        if h.enabled == Some(true) {
            h.enabled = None;
        }
        unset_if(&mut h.path, "/");
        unset_if(&mut h.port, "traffic-port");
        unset_if(&mut h.protocol, &protocol);
        unset_if(&mut h.matcher, "200");
        for (v, default) in [
            (&mut h.interval, 30),
            (&mut h.timeout, 5),
            (&mut h.healthy_threshold, 5),
            (&mut h.unhealthy_threshold, 2),
        ] {
            if *v == Some(default) {
                *v = None;
            }
        }
        if *h == HealthCheck::default() {
            t.health_check = None;
        }
    }
    if let Some(s) = &mut t.stickiness {
        if !s.enabled {
            t.stickiness = None;
        } else if s.type_ == "lb_cookie" && s.cookie_duration == Some(86400) {
            s.cookie_duration = None;
        }
    }
}

#[cfg(feature = "elbv2")]
pub(crate) mod imp {
    use std::collections::BTreeMap;

    use async_trait::async_trait;
    use aws_sdk_elasticloadbalancingv2::types::{
        Matcher, ProtocolEnum, TargetGroup as SdkTargetGroup, TargetGroupAttribute, TargetTypeEnum,
    };
    use infra_core::Input;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{HealthCheck, Stickiness, TargetGroup, TargetGroupOut};
    use crate::elbv2::sdk::{attr, batched, elb_tags, retag, tags_of};
    use crate::ids::{TargetGroupArn, VpcId};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing, settle, user_tags};

    /// `aws:elbv2:TargetGroup` through the ELBv2 API.
    #[derive(Debug)]
    pub(crate) struct TargetGroupKind;

    /// The attributes a declaration sets, defaults for those unset.
    fn attributes(d: &TargetGroup) -> Vec<TargetGroupAttribute> {
        let s = d
            .stickiness
            .clone()
            .unwrap_or_else(|| Stickiness { type_: "lb_cookie".into(), ..Default::default() });
        let mut pairs = vec![
            ("deregistration_delay.timeout_seconds", d.deregistration_delay.unwrap_or(300).to_string()),
            ("stickiness.enabled", s.enabled.to_string()),
            ("stickiness.type", s.type_.clone()),
        ];
        match s.type_.as_str() {
            "app_cookie" => {
                pairs.push(("stickiness.app_cookie.cookie_name", s.cookie_name.clone().unwrap_or_default()));
                pairs.push((
                    "stickiness.app_cookie.duration_seconds",
                    s.cookie_duration.unwrap_or(86400).to_string(),
                ));
            }
            _ => pairs.push((
                "stickiness.lb_cookie.duration_seconds",
                s.cookie_duration.unwrap_or(86400).to_string(),
            )),
        }
        pairs.into_iter().map(|(k, v)| TargetGroupAttribute::builder().key(k).value(v).build()).collect()
    }

    async fn set_attributes(
        cx: &Ctx,
        arn: &str,
        d: &TargetGroup,
        op: Operation,
    ) -> Result<(), ProviderError> {
        let call = cx
            .elbv2()
            .modify_target_group_attributes()
            .target_group_arn(arn)
            .set_attributes(Some(attributes(d)));
        settle(|| cx.send_in(Service::Elbv2, "ModifyTargetGroupAttributes", op, || call.clone().send()))
            .await
            .map(drop)
    }

    async fn read_attributes(cx: &Ctx, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        let call = cx.elbv2().describe_target_group_attributes().target_group_arn(arn);
        let out = cx
            .send_in(Service::Elbv2, "DescribeTargetGroupAttributes", Operation::Read, || call.clone().send())
            .await?;
        Ok(out
            .attributes()
            .iter()
            .filter_map(|a| Some((a.key()?.to_owned(), a.value().unwrap_or_default().to_owned())))
            .collect())
    }

    /// The health check with every part given (AWS's defaults for the
    /// parts left unset), as `CreateTargetGroup` and `ModifyTargetGroup`
    /// take it.
    fn health(d: &TargetGroup) -> HealthCheck {
        let h = d.health_check.clone().unwrap_or_default();
        HealthCheck {
            enabled: Some(h.enabled.unwrap_or(true)),
            path: Some(h.path.unwrap_or_else(|| "/".into())),
            port: Some(h.port.unwrap_or_else(|| "traffic-port".into())),
            protocol: Some(h.protocol.unwrap_or_else(|| d.protocol.clone())),
            matcher: Some(h.matcher.unwrap_or_else(|| "200".into())),
            interval: Some(h.interval.unwrap_or(30)),
            timeout: Some(h.timeout.unwrap_or(5)),
            healthy_threshold: Some(h.healthy_threshold.unwrap_or(5)),
            unhealthy_threshold: Some(h.unhealthy_threshold.unwrap_or(2)),
        }
    }

    async fn describe(cx: &Ctx, keys: &[String], names: bool) -> Result<Vec<SdkTargetGroup>, ProviderError> {
        batched(keys, |chunk| async move {
            let call = cx.elbv2().describe_target_groups();
            let call =
                if names { call.set_names(Some(chunk)) } else { call.set_target_group_arns(Some(chunk)) };
            let out = cx
                .send_in(Service::Elbv2, "DescribeTargetGroups", Operation::Read, || call.clone().send())
                .await?;
            Ok(out.target_groups.unwrap_or_default())
        })
        .await
    }

    fn seen(
        tg: &SdkTargetGroup,
        attrs: &BTreeMap<String, String>,
        tags: Tags,
    ) -> Result<Seen<TargetGroupKind>, ProviderError> {
        let arn = tg.target_group_arn().ok_or_else(|| missing("target group ARN"))?.to_owned();
        let name = tg.target_group_name().unwrap_or_default().to_owned();
        let kind = attr(attrs, "stickiness.type").unwrap_or("lb_cookie").to_owned();
        let duration_key = if kind == "app_cookie" {
            "stickiness.app_cookie.duration_seconds"
        } else {
            "stickiness.lb_cookie.duration_seconds"
        };
        let stickiness = Stickiness {
            cookie_duration: attr(attrs, duration_key).and_then(|v| v.parse().ok()),
            cookie_name: (kind == "app_cookie")
                .then(|| attr(attrs, "stickiness.app_cookie.cookie_name").map(str::to_owned))
                .flatten(),
            enabled: attr(attrs, "stickiness.enabled") == Some("true"),
            type_: kind,
        };
        let decl = TargetGroup {
            name: name.clone(),
            port: tg.port().unwrap_or_default(),
            protocol: tg.protocol().map(|p| p.as_str().to_owned()).unwrap_or_default(),
            vpc_id: Input::Value(VpcId::unchecked(tg.vpc_id().unwrap_or_default())),
            target_type: tg.target_type().map(|t| t.as_str().to_owned()),
            health_check: Some(HealthCheck {
                enabled: tg.health_check_enabled(),
                path: tg.health_check_path().map(str::to_owned),
                port: tg.health_check_port().map(str::to_owned),
                protocol: tg.health_check_protocol().map(|p| p.as_str().to_owned()),
                matcher: tg.matcher().and_then(|m| m.http_code()).map(str::to_owned),
                interval: tg.health_check_interval_seconds(),
                timeout: tg.health_check_timeout_seconds(),
                healthy_threshold: tg.healthy_threshold_count(),
                unhealthy_threshold: tg.unhealthy_threshold_count(),
            }),
            deregistration_delay: attr(attrs, "deregistration_delay.timeout_seconds")
                .and_then(|v| v.parse().ok()),
            stickiness: Some(stickiness),
            tags: user_tags(&tags),
        };
        let out = TargetGroupOut {
            arn: TargetGroupArn::unchecked(&arn),
            arn_suffix: arn.splitn(6, ':').nth(5).unwrap_or_default().to_owned(),
            name,
        };
        Ok(Seen::ready(arn, decl, out, tags))
    }

    #[async_trait]
    impl Kind for TargetGroupKind {
        type Decl = TargetGroup;
        type Out = TargetGroupOut;
        const SERVICE: Service = Service::Elbv2;
        const TIMINGS: Timings = Timings::secs(2, 2, 2, 2, 120);

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, TargetGroup>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let groups = match by {
                Lookup::Ids(arns) => describe(cx, arns, false).await?,
                // ELBv2 lists nothing by tag: a lost create is found by
                // its name, unique per region.
                Lookup::Tag(..) => return Ok(Vec::new()),
                Lookup::Key(d) => describe(cx, std::slice::from_ref(&d.name), true).await?,
            };
            let arns: Vec<String> =
                groups.iter().filter_map(|g| g.target_group_arn().map(str::to_owned)).collect();
            let mut tags = tags_of(cx, &arns).await?;
            // No batched form: one call per group.
            let attrs = futures_util::future::join_all(arns.iter().map(|a| read_attributes(cx, a))).await;
            let mut out = Vec::new();
            for (tg, attrs) in groups.iter().zip(attrs) {
                let attrs = match attrs {
                    Ok(a) => a,
                    Err(e) if e.kind == ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                let arn = tg.target_group_arn().unwrap_or_default();
                let s = seen(tg, &attrs, tags.remove(arn).unwrap_or_default())?;
                // What a lost create of `d` made has `d`'s fixed settings:
                // a group of the same name with others (the one a
                // create-first replacement replaces) is not it.
                if let Lookup::Key(d) = by
                    && (s.decl.port != d.port
                        || s.decl.protocol != d.protocol
                        || s.decl.vpc_id.id() != d.vpc_id.id()
                        || s.decl.target_type.as_deref().unwrap_or("instance")
                            != d.target_type.as_deref().unwrap_or("instance"))
                {
                    continue;
                }
                out.push(s);
            }
            Ok(out)
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &TargetGroup,
            tags: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            let h = health(d);
            let call = cx
                .elbv2()
                .create_target_group()
                .name(&d.name)
                .port(d.port)
                .protocol(ProtocolEnum::from(d.protocol.as_str()))
                .vpc_id(d.vpc_id.id())
                .set_target_type(d.target_type.as_deref().map(TargetTypeEnum::from))
                .health_check_enabled(h.enabled.unwrap_or(true))
                .set_health_check_path(h.path)
                .set_health_check_port(h.port)
                .set_health_check_protocol(h.protocol.as_deref().map(ProtocolEnum::from))
                .matcher(Matcher::builder().set_http_code(h.matcher).build())
                .set_health_check_interval_seconds(h.interval)
                .set_health_check_timeout_seconds(h.timeout)
                .set_healthy_threshold_count(h.healthy_threshold)
                .set_unhealthy_threshold_count(h.unhealthy_threshold)
                .set_tags(Some(elb_tags(tags)));
            let out = match cx
                .send_in(Service::Elbv2, "CreateTargetGroup", Operation::Create, || call.clone().send())
                .await
            {
                Err(e) if e.code.as_deref() == Some("DuplicateTargetGroupName") => {
                    return Err(ProviderError {
                        message: format!(
                            "a target group named {:?} already exists in this region (a replacement needs a new name: names are unique per region): {}",
                            d.name, e.message
                        ),
                        ..e
                    });
                }
                other => other?,
            };
            let arn = out
                .target_groups()
                .first()
                .and_then(|g| g.target_group_arn())
                .ok_or_else(|| missing("target group ARN"))?
                .to_owned();
            if d.deregistration_delay.is_some() || d.stickiness.is_some() {
                set_attributes(cx, &arn, d, Operation::Create).await?;
            }
            Ok(arn)
        }

        async fn update(&self, cx: &Ctx, arn: &str, c: Change<'_, TargetGroup>) -> Result<(), ProviderError> {
            let d = c.after;
            let changed = |f: &str| c.fields.iter().any(|x| x == f);
            if changed("health_check") {
                let h = health(d);
                let call = cx
                    .elbv2()
                    .modify_target_group()
                    .target_group_arn(arn)
                    .set_health_check_enabled(h.enabled)
                    .set_health_check_path(h.path)
                    .set_health_check_port(h.port)
                    .set_health_check_protocol(h.protocol.as_deref().map(ProtocolEnum::from))
                    .matcher(Matcher::builder().set_http_code(h.matcher).build())
                    .set_health_check_interval_seconds(h.interval)
                    .set_health_check_timeout_seconds(h.timeout)
                    .set_healthy_threshold_count(h.healthy_threshold)
                    .set_unhealthy_threshold_count(h.unhealthy_threshold);
                cx.send_in(Service::Elbv2, "ModifyTargetGroup", Operation::Update, || call.clone().send())
                    .await?;
            }
            if changed("deregistration_delay") || changed("stickiness") {
                set_attributes(cx, arn, d, Operation::Update).await?;
            }
            Ok(())
        }

        async fn retag(
            &self,
            cx: &Ctx,
            arn: &str,
            remove: &[&String],
            add: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            retag(cx, arn, remove, add).await
        }

        async fn delete(&self, cx: &Ctx, arn: &str, _: &TargetGroup) -> Result<(), ProviderError> {
            // A listener deleted a moment ago may still hold the group for
            // a while (ResourceInUse): retried for a moment.
            settle(|| async {
                let r = cx
                    .send_in(Service::Elbv2, "DeleteTargetGroup", Operation::Delete, || {
                        cx.elbv2().delete_target_group().target_group_arn(arn).send()
                    })
                    .await;
                match r {
                    Err(e) if e.code.as_deref() == Some("ResourceInUse") => {
                        Err(ProviderError { kind: ErrorKind::EventualConsistency, ..e })
                    }
                    other => other.map(drop),
                }
            })
            .await
        }
    }
}
