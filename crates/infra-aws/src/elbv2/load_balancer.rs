use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use crate::ids::{BucketName, DnsName, HostedZoneId, LoadBalancerArn, SecurityGroupId, SubnetId};

/// Where an [`Alb`] writes its access logs (`access_logs { … }`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AccessLogs {
    /// The S3 bucket (its policy must let the region's ELB account write).
    pub bucket: Input<BucketName>,
    /// A key prefix (not starting with `/`, without `AWSLogs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// False (Terraform's default) keeps the settings without logging.
    pub enabled: bool,
}

/// An application load balancer (`aws_lb` with `load_balancer_type =
/// "application"`).
///
/// The name is unique per region and, with `internal`, cannot change: a
/// change replaces the load balancer, destroy first (its listeners, which
/// name it, are replaced with it). Subnets (`SetSubnets`), security groups
/// (`SetSecurityGroups`), the IP address type and the attributes
/// (`ModifyLoadBalancerAttributes`) change in place. A new load balancer is
/// `provisioning` for a few minutes: dependents wait until it is `active`.
///
/// With `enable_deletion_protection`, infra refuses to delete it (as AWS
/// does): set it to false and apply first.
///
/// Outputs: `alb.arn()` (`LoadBalancerArn`), `alb.dns_name()` (`DnsName`),
/// `alb.zone_id()` (`HostedZoneId`, for Route 53 aliases) and
/// `alb.arn_suffix()` (`app/<name>/<id>`, CloudWatch's `LoadBalancer`
/// dimension).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::{SecurityGroup, Subnet, Vpc};
/// use infra::aws::elbv2::Alb;
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let vpc = stack.add("vpc", Vpc { cidr_block: "10.1.0.0/16".into(), ..Default::default() });
/// let subnet = |s: &mut Stack, n: u8, az: &str| {
///     s.add(&format!("public-{n}"), Subnet {
///         vpc_id: vpc.id().into(),
///         cidr_block: format!("10.1.{n}.0/24"),
///         availability_zone: az.into(),
///         map_public_ip_on_launch: false,
///         tags: Default::default(),
///     })
/// };
/// let a = subnet(&mut stack, 1, "us-east-1a");
/// let b = subnet(&mut stack, 2, "us-east-1b");
/// let sg = stack.add("alb-sg", SecurityGroup {
///     name: "alb".into(),
///     description: "the load balancer".into(),
///     vpc_id: vpc.id().into(),
///     ..Default::default()
/// });
/// let alb = stack.add("alb", Alb {
///     name: "prod-alb".into(),
///     subnets: vec![a.id().into(), b.id().into()],
///     security_groups: vec![sg.id().into()],
///     enable_deletion_protection: true,
///     ..Default::default()
/// });
/// stack.export("alb_dns_name", alb.dns_name());
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:elbv2:LoadBalancer",
    outputs(arn: LoadBalancerArn, dns_name: DnsName, zone_id: HostedZoneId, arn_suffix: String),
    readiness = "on_available",
    replace = "delete_before_create",
    validate = validate_alb,
    validate_stack = crate::rules::relations,
    validate_type = crate::rules::unique,
    normalise = defaults_unset
)]
pub struct Alb {
    /// Unique per region: 1 to 32 letters, digits and hyphens.
    #[resource(force_new)]
    pub name: String,
    /// An internal load balancer (private addresses only).
    #[resource(force_new)]
    pub internal: bool,
    /// Subnets in at least two availability zones, one per zone.
    #[resource(set)]
    pub subnets: Vec<Input<SubnetId>>,
    /// Up to 5 security groups.
    #[resource(set)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<Input<SecurityGroupId>>,
    /// `ipv4` (the default, recorded as unset), `dualstack` or
    /// `dualstack-without-public-ipv4`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_address_type: Option<String>,
    /// AWS refuses to delete it (and so does infra).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub enable_deletion_protection: bool,
    /// Always on for application load balancers: only `true` (recorded as
    /// unset) is accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_cross_zone_load_balancing: Option<bool>,
    /// 1 to 4000 seconds; 60 (the default) is recorded as unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_logs: Option<AccessLogs>,
    /// True (the default) is recorded as unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_http2: Option<bool>,
    /// Drop headers with invalid names (false, the default, is unset).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub drop_invalid_header_fields: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_alb(a: &Alb, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &a.tags);
    super::check_name(ctx, "name", &a.name);
    if a.name.starts_with("internal-") {
        ctx.error("name", format!("{:?} may not begin with \"internal-\"", a.name));
    }
    if a.subnets.len() < 2 {
        ctx.error("subnets", "an application load balancer needs subnets in at least two availability zones");
    }
    if a.security_groups.len() > 5 {
        ctx.error(
            "security_groups",
            format!("{} groups: a load balancer takes at most 5", a.security_groups.len()),
        );
    }
    if let Some(t) = &a.ip_address_type
        && !matches!(t.as_str(), "ipv4" | "dualstack" | "dualstack-without-public-ipv4")
    {
        ctx.error(
            "ip_address_type",
            format!("{t:?} must be ipv4, dualstack or dualstack-without-public-ipv4"),
        );
    }
    if a.enable_cross_zone_load_balancing == Some(false) {
        ctx.error(
            "enable_cross_zone_load_balancing",
            "cross-zone load balancing is always on for application load balancers (turn it off per target group)",
        );
    }
    if let Some(t) = a.idle_timeout
        && !(1..=4000).contains(&t)
    {
        ctx.error("idle_timeout", format!("{t} must be 1 to 4000 seconds"));
    }
    if let Some(p) = a.access_logs.as_ref().and_then(|l| l.prefix.as_deref())
        && (p.starts_with('/') || p.contains("AWSLogs"))
    {
        ctx.error("access_logs.prefix", format!("{p:?} may not start with / or contain AWSLogs"));
    }
}

/// AWS's defaults recorded as unset.
fn defaults_unset(a: &mut Alb) {
    if a.ip_address_type.as_deref() == Some("ipv4") {
        a.ip_address_type = None;
    }
    if a.enable_cross_zone_load_balancing == Some(true) {
        a.enable_cross_zone_load_balancing = None;
    }
    if a.idle_timeout == Some(60) {
        a.idle_timeout = None;
    }
    if a.enable_http2 == Some(true) {
        a.enable_http2 = None;
    }
    if let Some(l) = &mut a.access_logs {
        if l.prefix.as_deref() == Some("") {
            l.prefix = None;
        }
        if !l.enabled && l.prefix.is_none() && l.bucket.value().is_none_or(|b| b.to_string().is_empty()) {
            a.access_logs = None;
        }
    }
}

#[cfg(feature = "elbv2")]
pub(crate) mod imp {
    use std::collections::BTreeMap;

    use async_trait::async_trait;
    use aws_sdk_elasticloadbalancingv2::types::{
        IpAddressType, LoadBalancer, LoadBalancerAttribute, LoadBalancerSchemeEnum, LoadBalancerStateEnum,
        LoadBalancerTypeEnum,
    };
    use infra_core::Input;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{AccessLogs, Alb, AlbOut};
    use crate::elbv2::sdk::{attr, batched, elb_tags, retag, tags_of};
    use crate::ids::{BucketName, DnsName, HostedZoneId, LoadBalancerArn, SecurityGroupId, SubnetId};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Status, Tags, missing, settle, user_tags};

    /// `aws:elbv2:LoadBalancer` through the ELBv2 API.
    #[derive(Debug)]
    pub(crate) struct AlbKind;

    /// The attributes a declaration sets, with AWS's defaults for those it
    /// leaves unset (so that unsetting one restores the default).
    fn attributes(d: &Alb) -> Vec<LoadBalancerAttribute> {
        let logs = d.access_logs.as_ref();
        let pairs = [
            ("deletion_protection.enabled", d.enable_deletion_protection.to_string()),
            ("idle_timeout.timeout_seconds", d.idle_timeout.unwrap_or(60).to_string()),
            ("routing.http2.enabled", d.enable_http2.unwrap_or(true).to_string()),
            ("routing.http.drop_invalid_header_fields.enabled", d.drop_invalid_header_fields.to_string()),
            ("access_logs.s3.enabled", logs.is_some_and(|l| l.enabled).to_string()),
            ("access_logs.s3.bucket", logs.map(|l| l.bucket.id().to_owned()).unwrap_or_default()),
            ("access_logs.s3.prefix", logs.and_then(|l| l.prefix.clone()).unwrap_or_default()),
        ];
        pairs.into_iter().map(|(k, v)| LoadBalancerAttribute::builder().key(k).value(v).build()).collect()
    }

    async fn set_attributes(cx: &Ctx, arn: &str, d: &Alb, op: Operation) -> Result<(), ProviderError> {
        let call = cx
            .elbv2()
            .modify_load_balancer_attributes()
            .load_balancer_arn(arn)
            .set_attributes(Some(attributes(d)));
        settle(|| cx.send_in(Service::Elbv2, "ModifyLoadBalancerAttributes", op, || call.clone().send()))
            .await
            .map(drop)
    }

    async fn read_attributes(cx: &Ctx, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        let call = cx.elbv2().describe_load_balancer_attributes().load_balancer_arn(arn);
        let out = cx
            .send_in(Service::Elbv2, "DescribeLoadBalancerAttributes", Operation::Read, || {
                call.clone().send()
            })
            .await?;
        Ok(out
            .attributes()
            .iter()
            .filter_map(|a| Some((a.key()?.to_owned(), a.value().unwrap_or_default().to_owned())))
            .collect())
    }

    /// Load balancers by ARN (`names: false`) or by name, 20 a call.
    async fn describe(cx: &Ctx, keys: &[String], names: bool) -> Result<Vec<LoadBalancer>, ProviderError> {
        batched(keys, |chunk| async move {
            let call = cx.elbv2().describe_load_balancers();
            let call =
                if names { call.set_names(Some(chunk)) } else { call.set_load_balancer_arns(Some(chunk)) };
            let out = cx
                .send_in(Service::Elbv2, "DescribeLoadBalancers", Operation::Read, || call.clone().send())
                .await?;
            Ok(out.load_balancers.unwrap_or_default())
        })
        .await
    }

    fn seen(
        lb: &LoadBalancer,
        attrs: &BTreeMap<String, String>,
        tags: Tags,
    ) -> Result<Seen<AlbKind>, ProviderError> {
        let arn = lb.load_balancer_arn().ok_or_else(|| missing("load balancer ARN"))?.to_owned();
        let is = |k: &str, default: bool| attr(attrs, k).map_or(default, |v| v == "true");
        let bucket = attr(attrs, "access_logs.s3.bucket");
        let logs_on = is("access_logs.s3.enabled", false);
        let access_logs = (logs_on || bucket.is_some()).then(|| AccessLogs {
            bucket: Input::Value(BucketName::unchecked(bucket.unwrap_or_default())),
            prefix: attr(attrs, "access_logs.s3.prefix").map(str::to_owned),
            enabled: logs_on,
        });
        let decl = Alb {
            name: lb.load_balancer_name().unwrap_or_default().to_owned(),
            internal: lb.scheme() == Some(&LoadBalancerSchemeEnum::Internal),
            subnets: lb
                .availability_zones()
                .iter()
                .filter_map(|z| z.subnet_id())
                .map(|s| Input::Value(SubnetId::unchecked(s)))
                .collect(),
            security_groups: lb
                .security_groups()
                .iter()
                .map(|g| Input::Value(SecurityGroupId::unchecked(g)))
                .collect(),
            ip_address_type: lb.ip_address_type().map(|t| t.as_str().to_owned()),
            enable_deletion_protection: is("deletion_protection.enabled", false),
            // Always on for an application load balancer, whatever the
            // attribute says (the emulator answers false).
            enable_cross_zone_load_balancing: None,
            idle_timeout: attr(attrs, "idle_timeout.timeout_seconds").and_then(|v| v.parse().ok()),
            access_logs,
            enable_http2: Some(is("routing.http2.enabled", true)),
            drop_invalid_header_fields: is("routing.http.drop_invalid_header_fields.enabled", false),
            tags: user_tags(&tags),
        };
        let out = AlbOut {
            arn: LoadBalancerArn::unchecked(&arn),
            dns_name: DnsName::unchecked(lb.dns_name().unwrap_or_default()),
            zone_id: HostedZoneId::unchecked(lb.canonical_hosted_zone_id().unwrap_or_default()),
            arn_suffix: crate::elbv2::arn_suffix(&arn, ":loadbalancer/"),
        };
        let status = match lb.state().and_then(|s| s.code()) {
            Some(LoadBalancerStateEnum::Provisioning) => Status::Pending("provisioning".into()),
            Some(LoadBalancerStateEnum::Failed) => Status::Failed(format!(
                "the load balancer failed: {}",
                lb.state().and_then(|s| s.reason()).unwrap_or("no reason given")
            )),
            _ => Status::Ready,
        };
        Ok(Seen { id: arn, decl, out, tags, status })
    }

    #[async_trait]
    impl Kind for AlbKind {
        type Decl = Alb;
        type Out = AlbOut;
        const SERVICE: Service = Service::Elbv2;
        const TIMINGS: Timings = Timings::secs(180, 5, 30, 10, 600);
        const DELETE_WAITS: bool = true;

        async fn list(&self, cx: &Ctx, by: Lookup<'_, Alb>) -> Result<Vec<Seen<Self>>, ProviderError> {
            let lbs = match by {
                Lookup::Ids(arns) => describe(cx, arns, false).await?,
                // ELBv2 lists nothing by tag: a lost create is found by
                // its name, unique per region.
                Lookup::Tag(..) => return Ok(Vec::new()),
                Lookup::Key(d) => describe(cx, std::slice::from_ref(&d.name), true).await?,
            };
            let lbs: Vec<&LoadBalancer> =
                lbs.iter().filter(|lb| lb.r#type() == Some(&LoadBalancerTypeEnum::Application)).collect();
            let arns: Vec<String> =
                lbs.iter().filter_map(|lb| lb.load_balancer_arn().map(str::to_owned)).collect();
            let mut tags = tags_of(cx, &arns).await?;
            // No batched form: one call per load balancer.
            let attrs = futures_util::future::join_all(arns.iter().map(|a| read_attributes(cx, a))).await;
            let mut out = Vec::new();
            for (lb, attrs) in lbs.into_iter().zip(attrs) {
                let attrs = match attrs {
                    Ok(a) => a,
                    Err(e) if e.kind == ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                let arn = lb.load_balancer_arn().unwrap_or_default();
                out.push(seen(lb, &attrs, tags.remove(arn).unwrap_or_default())?);
            }
            Ok(out)
        }

        async fn create(&self, cx: &Ctx, d: &Alb, tags: &Tags, _: &str) -> Result<String, ProviderError> {
            let scheme = if d.internal {
                LoadBalancerSchemeEnum::Internal
            } else {
                LoadBalancerSchemeEnum::InternetFacing
            };
            let call = cx
                .elbv2()
                .create_load_balancer()
                .name(&d.name)
                .r#type(LoadBalancerTypeEnum::Application)
                .scheme(scheme)
                .set_subnets(Some(d.subnets.iter().map(|s| s.id().to_owned()).collect()))
                .set_security_groups(
                    (!d.security_groups.is_empty())
                        .then(|| d.security_groups.iter().map(|g| g.id().to_owned()).collect()),
                )
                .set_ip_address_type(d.ip_address_type.as_deref().map(IpAddressType::from))
                .set_tags(Some(elb_tags(tags)));
            let out = cx
                .send_in(Service::Elbv2, "CreateLoadBalancer", Operation::Create, || call.clone().send())
                .await?;
            let arn = out
                .load_balancers()
                .first()
                .and_then(|lb| lb.load_balancer_arn())
                .ok_or_else(|| missing("load balancer ARN"))?
                .to_owned();
            let mut plain = d.clone();
            plain.tags = Tags::new();
            if attributes(&plain) != attributes(&Alb::default()) {
                set_attributes(cx, &arn, d, Operation::Create).await?;
            }
            Ok(arn)
        }

        async fn update(&self, cx: &Ctx, arn: &str, c: Change<'_, Alb>) -> Result<(), ProviderError> {
            let (elb, d) = (cx.elbv2(), c.after);
            let changed = |f: &str| c.fields.iter().any(|x| x == f);
            if changed("subnets") {
                let call = elb
                    .set_subnets()
                    .load_balancer_arn(arn)
                    .set_subnets(Some(d.subnets.iter().map(|s| s.id().to_owned()).collect()));
                cx.send_in(Service::Elbv2, "SetSubnets", Operation::Update, || call.clone().send()).await?;
            }
            if changed("security_groups") {
                let groups = d.security_groups.iter().map(|g| g.id().to_owned()).collect();
                let call = elb.set_security_groups().load_balancer_arn(arn).set_security_groups(Some(groups));
                cx.send_in(Service::Elbv2, "SetSecurityGroups", Operation::Update, || call.clone().send())
                    .await?;
            }
            if changed("ip_address_type") {
                let t = IpAddressType::from(d.ip_address_type.as_deref().unwrap_or("ipv4"));
                let call = elb.set_ip_address_type().load_balancer_arn(arn).ip_address_type(t);
                cx.send_in(Service::Elbv2, "SetIpAddressType", Operation::Update, || call.clone().send())
                    .await?;
            }
            let attribute_fields = [
                "enable_deletion_protection",
                "idle_timeout",
                "access_logs",
                "enable_http2",
                "drop_invalid_header_fields",
            ];
            if attribute_fields.iter().any(|f| changed(f)) {
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

        async fn delete(&self, cx: &Ctx, arn: &str, d: &Alb) -> Result<(), ProviderError> {
            // AWS refuses (OperationNotPermitted); the emulator deletes it
            // anyway, so the recorded setting is checked here first.
            if d.enable_deletion_protection {
                return Err(ProviderError::new(
                    ErrorKind::Final,
                    format!(
                        "{} has deletion protection: set enable_deletion_protection = false and apply, then delete it",
                        d.name
                    ),
                )
                .with_code("OperationNotPermitted"));
            }
            cx.send_in(Service::Elbv2, "DeleteLoadBalancer", Operation::Delete, || {
                cx.elbv2().delete_load_balancer().load_balancer_arn(arn).send()
            })
            .await
            .map(drop)
        }
    }
}
