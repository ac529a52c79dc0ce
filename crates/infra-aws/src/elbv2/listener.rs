use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use super::Action;
use crate::ids::{CertificateArn, ListenerArn, LoadBalancerArn};

/// A listener of an application load balancer (`aws_lb_listener`): a port
/// and protocol, and what it does with requests no rule takes
/// (`default_actions`).
///
/// Only the load balancer cannot change (a change replaces the listener);
/// port, protocol, TLS policy, certificate and default actions change in
/// place (`ModifyListener`). An HTTPS listener needs a certificate and a
/// TLS policy (AWS's default policy changes over time, so infra asks for
/// one); an HTTP listener takes neither. A load balancer has one listener
/// per port.
///
/// Outputs: `listener.arn()` (`ListenerArn`).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::elbv2::{Action, Listener};
/// use infra::aws::ids::{CertificateArn, LoadBalancerArn, TargetGroupArn};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let alb = LoadBalancerArn::new("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/prod/50dc6c495c0c9188").unwrap();
/// let tg = TargetGroupArn::new("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/73e2d6bc24d8a067").unwrap();
/// let cert = CertificateArn::new("arn:aws:acm:us-east-1:123456789012:certificate/0e4ca2ad-5a0a-4ee6-8a2b-27a4d4c0e9a3").unwrap();
/// stack.add("http", Listener {
///     load_balancer_arn: alb.clone().into(),
///     port: 80,
///     protocol: "HTTP".into(),
///     default_actions: vec![Action::redirect_to_https()],
///     ..Default::default()
/// });
/// let https = stack.add("https", Listener {
///     load_balancer_arn: alb.into(),
///     port: 443,
///     protocol: "HTTPS".into(),
///     ssl_policy: Some("ELBSecurityPolicy-TLS-1-2-2017-01".into()),
///     certificate_arn: Some(cert.into()),
///     default_actions: vec![Action::forward(tg)],
///     ..Default::default()
/// });
/// let _arn: Output<infra::aws::ids::ListenerArn> = https.arn();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:elbv2:Listener",
    outputs(arn: ListenerArn),
    readiness = "on_id",
    validate = validate_listener,
    validate_stack = crate::rules::relations,
    validate_type = crate::rules::unique,
    normalise = canonical
)]
pub struct Listener {
    #[resource(force_new)]
    pub load_balancer_arn: Input<LoadBalancerArn>,
    /// 1 to 65535, one listener per port of a load balancer.
    pub port: i32,
    /// `HTTP` or `HTTPS`.
    pub protocol: String,
    /// The TLS policy of an HTTPS listener (e.g.
    /// `ELBSecurityPolicy-TLS13-1-2-2021-06`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl_policy: Option<String>,
    /// The default certificate of an HTTPS listener.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_arn: Option<Input<CertificateArn>>,
    /// Exactly one terminal action.
    pub default_actions: Vec<Action>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_listener(l: &Listener, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &l.tags);
    if !(1..=65535).contains(&l.port) {
        ctx.error("port", format!("port {} is outside 1-65535", l.port));
    }
    match l.protocol.as_str() {
        "HTTPS" => {
            if l.certificate_arn.is_none() {
                ctx.error("certificate_arn", "an HTTPS listener needs a certificate");
            }
            if l.ssl_policy.is_none() {
                ctx.error(
                    "ssl_policy",
                    "an HTTPS listener needs a TLS policy (e.g. ELBSecurityPolicy-TLS13-1-2-2021-06)",
                );
            }
        }
        "HTTP" => {
            if l.certificate_arn.is_some() {
                ctx.error("certificate_arn", "an HTTP listener takes no certificate (use HTTPS)");
            }
            if l.ssl_policy.is_some() {
                ctx.error("ssl_policy", "an HTTP listener takes no TLS policy (use HTTPS)");
            }
        }
        other => ctx.error("protocol", format!("{other:?} must be HTTP or HTTPS")),
    }
    super::action::check_actions(ctx, "default_actions", &l.default_actions);
}

/// The canonical form: actions canonical; no TLS policy on an HTTP
/// listener (the emulator reports its default policy on every listener).
fn canonical(l: &mut Listener) {
    if l.protocol == "HTTP" {
        l.ssl_policy = None;
    }
    l.default_actions.iter_mut().for_each(super::action::canonical_action);
}

#[cfg(feature = "elbv2")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_elasticloadbalancingv2::types::{Certificate, Listener as SdkListener, ProtocolEnum};
    use infra_core::Input;
    use infra_engine::{Operation, ProviderError, Timings};

    use super::{Listener, ListenerOut};
    use crate::elbv2::action::imp::{from_sdk, to_sdk};
    use crate::elbv2::sdk::{batched, elb_tags, retag, tags_of};
    use crate::ids::{CertificateArn, ListenerArn, LoadBalancerArn};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing, user_tags};

    /// `aws:elbv2:Listener` through the ELBv2 API.
    #[derive(Debug)]
    pub(crate) struct ListenerKind;

    fn certificates(d: &Listener) -> Option<Vec<Certificate>> {
        d.certificate_arn.as_ref().map(|c| vec![Certificate::builder().certificate_arn(c.id()).build()])
    }

    async fn seen_all(
        cx: &Ctx,
        listeners: Vec<SdkListener>,
    ) -> Result<Vec<Seen<ListenerKind>>, ProviderError> {
        let arns: Vec<String> =
            listeners.iter().filter_map(|l| l.listener_arn().map(str::to_owned)).collect();
        let mut tags = tags_of(cx, &arns).await?;
        listeners
            .iter()
            .map(|l| {
                let arn = l.listener_arn().ok_or_else(|| missing("listener ARN"))?.to_owned();
                let tags = tags.remove(&arn).unwrap_or_default();
                let decl = Listener {
                    load_balancer_arn: Input::Value(LoadBalancerArn::unchecked(
                        l.load_balancer_arn().unwrap_or_default(),
                    )),
                    port: l.port().unwrap_or_default(),
                    protocol: l.protocol().map(|p| p.as_str().to_owned()).unwrap_or_default(),
                    ssl_policy: l.ssl_policy().map(str::to_owned),
                    // The default certificate (DescribeListeners lists only
                    // it; AddListenerCertificates adds the others).
                    certificate_arn: l
                        .certificates()
                        .iter()
                        .find(|c| c.is_default() != Some(false))
                        .and_then(|c| c.certificate_arn())
                        .map(|c| Input::Value(CertificateArn::unchecked(c))),
                    default_actions: from_sdk(l.default_actions()),
                    tags: user_tags(&tags),
                };
                let out = ListenerOut { arn: ListenerArn::unchecked(&arn) };
                Ok(Seen::ready(arn, decl, out, tags))
            })
            .collect()
    }

    #[async_trait]
    impl Kind for ListenerKind {
        type Decl = Listener;
        type Out = ListenerOut;
        const SERVICE: Service = Service::Elbv2;
        const TIMINGS: Timings = Timings::secs(2, 2, 2, 2, 120);

        async fn list(&self, cx: &Ctx, by: Lookup<'_, Listener>) -> Result<Vec<Seen<Self>>, ProviderError> {
            let listeners = match by {
                Lookup::Ids(arns) => {
                    batched(arns, |chunk| async move {
                        let call = cx.elbv2().describe_listeners().set_listener_arns(Some(chunk));
                        let out = cx
                            .send_in(Service::Elbv2, "DescribeListeners", Operation::Read, || {
                                call.clone().send()
                            })
                            .await?;
                        Ok(out.listeners.unwrap_or_default())
                    })
                    .await?
                }
                // ELBv2 lists nothing by tag: a lost create is found by
                // its load balancer and port.
                Lookup::Tag(..) => return Ok(Vec::new()),
                Lookup::Key(d) => {
                    let lb = d.load_balancer_arn.id().to_owned();
                    let all = cx
                        .paged(|marker| {
                            let call =
                                cx.elbv2().describe_listeners().load_balancer_arn(&lb).set_marker(marker);
                            async move {
                                let out = cx
                                    .send_in(Service::Elbv2, "DescribeListeners", Operation::Read, || {
                                        call.clone().send()
                                    })
                                    .await?;
                                Ok((out.listeners.unwrap_or_default(), out.next_marker))
                            }
                        })
                        .await?;
                    all.into_iter().filter(|l| l.port() == Some(d.port)).collect()
                }
            };
            seen_all(cx, listeners).await
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &Listener,
            tags: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            let call = cx
                .elbv2()
                .create_listener()
                .load_balancer_arn(d.load_balancer_arn.id())
                .port(d.port)
                .protocol(ProtocolEnum::from(d.protocol.as_str()))
                .set_ssl_policy(d.ssl_policy.clone())
                .set_certificates(certificates(d))
                .set_default_actions(Some(to_sdk(&d.default_actions)))
                .set_tags(Some(elb_tags(tags)));
            let out = cx
                .send_in(Service::Elbv2, "CreateListener", Operation::Create, || call.clone().send())
                .await?;
            out.listeners()
                .first()
                .and_then(|l| l.listener_arn())
                .map(str::to_owned)
                .ok_or_else(|| missing("listener ARN"))
        }

        async fn update(&self, cx: &Ctx, arn: &str, c: Change<'_, Listener>) -> Result<(), ProviderError> {
            let d = c.after;
            let changed = |f: &str| c.fields.iter().any(|x| x == f);
            // ModifyListener takes what changes; a protocol change carries
            // the TLS settings it needs.
            let tls = changed("protocol") || changed("ssl_policy") || changed("certificate_arn");
            let call = cx
                .elbv2()
                .modify_listener()
                .listener_arn(arn)
                .set_port(changed("port").then_some(d.port))
                .set_protocol(changed("protocol").then(|| ProtocolEnum::from(d.protocol.as_str())))
                .set_ssl_policy(if tls { d.ssl_policy.clone() } else { None })
                .set_certificates(if tls { certificates(d) } else { None })
                .set_default_actions(changed("default_actions").then(|| to_sdk(&d.default_actions)));
            cx.send_in(Service::Elbv2, "ModifyListener", Operation::Update, || call.clone().send())
                .await
                .map(drop)
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

        async fn delete(&self, cx: &Ctx, arn: &str, _: &Listener) -> Result<(), ProviderError> {
            cx.send_in(Service::Elbv2, "DeleteListener", Operation::Delete, || {
                cx.elbv2().delete_listener().listener_arn(arn).send()
            })
            .await
            .map(drop)
        }
    }
}
