//! An application load balancer with its target groups and listeners (the
//! seeds' `alb` module): a security group open on 80 and 443 unless the
//! caller brings one, the load balancer, one target group per service,
//! HTTPS on 443 forwarding to the first target group with path rules to the
//! others, and HTTP on 80 redirecting to HTTPS (or, without a certificate,
//! serving the same rules on 80).

use std::collections::BTreeMap;

use infra_core::{Handle, Input, Scope};

use crate::ec2::{SecurityGroup, SecurityGroupRuleSpec};
use crate::elbv2::{
    AccessLogs, Action, Alb, Condition, HealthCheck, Listener, ListenerRule, Stickiness, TargetGroup,
};
use crate::ids::{CertificateArn, SecurityGroupId, SubnetId, VpcId};

/// HTTPS on port 443.
#[derive(Debug, Clone)]
pub struct Https {
    pub certificate_arn: Input<CertificateArn>,
    /// The TLS policy, e.g. `ELBSecurityPolicy-TLS13-1-2-2021-06`.
    pub ssl_policy: String,
}

/// One target group and the requests routed to it.
#[derive(Debug, Clone)]
pub struct AlbTarget {
    /// Short name: the target group is `<alb name>-<name>` (32 characters
    /// at most in all).
    pub name: String,
    /// The port the targets listen on.
    pub port: i32,
    /// `ip` for Fargate tasks; `None` for instances.
    pub target_type: Option<String>,
    /// The health check's path, e.g. `/health`.
    pub health_check_path: String,
    /// Path patterns routed here (`/api/*`); the first target takes the
    /// rest and has none.
    pub path_patterns: Vec<String>,
    /// Session stickiness (the seed's `lb_cookie`, a day).
    pub stickiness: Option<Stickiness>,
}

impl AlbTarget {
    /// A target group for Fargate tasks on `port` with health checks on
    /// `health_check_path`, taking `path_patterns`.
    pub fn fargate(name: &str, port: i32, health_check_path: &str, path_patterns: &[&str]) -> Self {
        AlbTarget {
            name: name.into(),
            port,
            target_type: Some("ip".into()),
            health_check_path: health_check_path.into(),
            path_patterns: path_patterns.iter().map(|p| (*p).to_owned()).collect(),
            stickiness: None,
        }
    }
}

/// Inputs of [`alb`].
#[derive(Debug, Clone, Default)]
pub struct AlbConfig {
    /// The load balancer's name (`prod-us-alb`), also the prefix of its
    /// target groups and security group.
    pub name: String,
    pub vpc_id: Input<VpcId>,
    /// Public subnets in at least two zones (private ones when `internal`).
    pub subnets: Vec<Input<SubnetId>>,
    pub internal: bool,
    /// The load balancer's security groups; empty: the component adds one
    /// open on 80 and 443 to `ingress_cidrs`.
    pub security_groups: Vec<Input<SecurityGroupId>>,
    /// Where the component's own security group accepts traffic from
    /// (`0.0.0.0/0` when empty).
    pub ingress_cidrs: Vec<String>,
    pub deletion_protection: bool,
    pub access_logs: Option<AccessLogs>,
    /// HTTPS on 443, with HTTP on 80 redirected to it.
    pub https: Option<Https>,
    /// The first is the default target; each other one has path patterns.
    pub targets: Vec<AlbTarget>,
    pub tags: BTreeMap<String, String>,
}

/// The handles an [`alb`] exposes.
#[derive(Debug, Clone)]
pub struct AlbHandles {
    /// The component's own security group, when it added one.
    pub security_group: Option<Handle<SecurityGroup>>,
    pub load_balancer: Handle<Alb>,
    /// Per target's short name.
    pub target_groups: BTreeMap<String, Handle<TargetGroup>>,
    pub http_listener: Handle<Listener>,
    pub https_listener: Option<Handle<Listener>>,
    pub rules: Vec<Handle<ListenerRule>>,
}

impl AlbHandles {
    /// The listener that forwards to the target groups (HTTPS when there
    /// is a certificate): a service behind a target group must wait for it.
    pub fn serving_listener(&self) -> &Handle<Listener> {
        self.https_listener.as_ref().unwrap_or(&self.http_listener)
    }
}

/// Adds a load balancer under `scope.<name>`. No targets, or a non-first
/// target without path patterns, is reported by stack validation.
pub fn alb(scope: &mut Scope<'_>, name: &str, cfg: &AlbConfig) -> AlbHandles {
    let mut s = scope.scope(name);
    let tags = |suffix: &str| {
        let mut t = cfg.tags.clone();
        t.insert("Name".into(), format!("{}{suffix}", cfg.name));
        t
    };
    if cfg.targets.is_empty() {
        s.error("targets is empty: a load balancer needs a default target group");
    }
    let (security_group, security_groups) = if cfg.security_groups.is_empty() {
        let cidrs: Vec<&str> = if cfg.ingress_cidrs.is_empty() {
            vec!["0.0.0.0/0"]
        } else {
            cfg.ingress_cidrs.iter().map(String::as_str).collect()
        };
        let sg = s.add(
            "sg",
            SecurityGroup {
                name: format!("{}-sg", cfg.name),
                description: format!("load balancer {}", cfg.name),
                vpc_id: cfg.vpc_id.clone(),
                ingress: vec![
                    SecurityGroupRuleSpec::tcp_from_cidrs(80, &cidrs),
                    SecurityGroupRuleSpec::tcp_from_cidrs(443, &cidrs),
                ],
                egress: vec![SecurityGroupRuleSpec::all_to_anywhere()],
                tags: tags("-sg"),
            },
        );
        let id = sg.id().into();
        (Some(sg), vec![id])
    } else {
        (None, cfg.security_groups.clone())
    };
    let lb = s.add(
        "lb",
        Alb {
            name: cfg.name.clone(),
            internal: cfg.internal,
            subnets: cfg.subnets.clone(),
            security_groups,
            enable_deletion_protection: cfg.deletion_protection,
            access_logs: cfg.access_logs.clone(),
            tags: tags(""),
            ..Default::default()
        },
    );
    let mut target_groups = BTreeMap::new();
    for t in &cfg.targets {
        let tg = s.add(
            &format!("tg-{}", t.name),
            TargetGroup {
                name: format!("{}-{}", cfg.name, t.name),
                port: t.port,
                protocol: "HTTP".into(),
                vpc_id: cfg.vpc_id.clone(),
                target_type: t.target_type.clone(),
                health_check: Some(HealthCheck {
                    enabled: Some(true),
                    path: Some(t.health_check_path.clone()),
                    matcher: Some("200".into()),
                    interval: Some(30),
                    timeout: Some(5),
                    healthy_threshold: Some(2),
                    unhealthy_threshold: Some(2),
                    ..Default::default()
                }),
                stickiness: t.stickiness.clone(),
                tags: tags(&format!("-{}", t.name)),
                ..Default::default()
            },
        );
        target_groups.insert(t.name.clone(), tg);
    }
    let default_forward = || match cfg.targets.first().and_then(|t| target_groups.get(&t.name)) {
        Some(tg) => Action::forward(tg.arn()),
        None => Action::fixed_response("404", "text/plain", "no target"),
    };
    let listener = |s: &mut Scope<'_>, port: i32, action: Action, https: Option<&Https>| {
        s.add(
            &format!("listener-{port}"),
            Listener {
                load_balancer_arn: lb.arn().into(),
                port,
                protocol: if https.is_some() { "HTTPS" } else { "HTTP" }.into(),
                ssl_policy: https.map(|h| h.ssl_policy.clone()),
                certificate_arn: https.map(|h| h.certificate_arn.clone()),
                default_actions: vec![action],
                tags: tags(&format!("-{port}")),
            },
        )
    };
    let (http_listener, https_listener) = match &cfg.https {
        Some(h) => {
            let http = listener(&mut s, 80, Action::redirect_to_https(), None);
            (http, Some(listener(&mut s, 443, default_forward(), Some(h))))
        }
        None => (listener(&mut s, 80, default_forward(), None), None),
    };
    let serving = https_listener.as_ref().unwrap_or(&http_listener).clone();
    let mut rules = Vec::new();
    for (i, t) in cfg.targets.iter().enumerate().skip(1) {
        if t.path_patterns.is_empty() {
            s.error(format!(
                "targets[{i}] ({}) has no path patterns: only the first target is the default",
                t.name
            ));
            continue;
        }
        let Some(tg) = target_groups.get(&t.name) else { continue };
        rules.push(s.add(
            &format!("rule-{}", t.name),
            ListenerRule {
                listener_arn: serving.arn().into(),
                priority: i32::try_from(i).unwrap_or(i32::MAX).saturating_mul(100),
                conditions: vec![Condition::PathPattern(t.path_patterns.clone())],
                actions: vec![Action::forward(tg.arn())],
                tags: tags(&format!("-{}", t.name)),
            },
        ));
    }
    AlbHandles { security_group, load_balancer: lb, target_groups, http_listener, https_listener, rules }
}
